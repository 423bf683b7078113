-- Bird photographs that annotations point into.
CREATE TABLE images (
  id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  url        text        NOT NULL CHECK (url <> ''),
  species    text,
  width      integer     CHECK (width > 0),
  height     integer     CHECK (height > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
