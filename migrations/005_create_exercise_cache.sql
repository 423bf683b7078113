-- Generated exercises, cached per learner context. user_id has no foreign key
-- on purpose: the cache also serves sessions that are not (yet) users, and a
-- cache must never block deleting a user.
CREATE TABLE exercise_cache (
  id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id          uuid        NOT NULL,
  exercise_type    text        NOT NULL CHECK (exercise_type <> ''),
  difficulty_level integer     NOT NULL CHECK (difficulty_level BETWEEN 1 AND 5),
  topic            text,
  exercise_data    jsonb       NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz
);
