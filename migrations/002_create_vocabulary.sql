-- Spanish/English term pairs the exercises are built from.
CREATE TABLE vocabulary (
  id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  spanish_term text        NOT NULL CHECK (spanish_term <> ''),
  english_term text        NOT NULL CHECK (english_term <> ''),
  category     text,
  created_at   timestamptz NOT NULL DEFAULT now()
);
