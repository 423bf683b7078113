-- Learners of the Aves app. gen_random_uuid() is core PostgreSQL since 13.
CREATE TABLE users (
  id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  email      text        NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 320 AND position('@' IN email) > 1),
  name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);
