-- Per learner, per term: how often it was answered right and wrong.
CREATE TABLE user_progress (
  user_id           uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  vocabulary_id     uuid        NOT NULL REFERENCES vocabulary (id) ON DELETE CASCADE,
  correct_count     integer     NOT NULL DEFAULT 0 CHECK (correct_count >= 0),
  incorrect_count   integer     NOT NULL DEFAULT 0 CHECK (incorrect_count >= 0),
  last_practiced_at timestamptz,
  PRIMARY KEY (user_id, vocabulary_id)
);
-- The primary key serves lookups by user; deleting a term must not scan the
-- whole table to cascade, so its foreign key gets its own index.
CREATE INDEX user_progress_vocabulary_id_idx ON user_progress (vocabulary_id);
