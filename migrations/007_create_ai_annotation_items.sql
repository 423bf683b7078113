-- AI-proposed labels on images, reviewed by people before the app uses them.
CREATE TABLE ai_annotation_items (
  id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  job_id           uuid        REFERENCES batch_jobs (id) ON DELETE SET NULL,
  image_id         uuid        NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  spanish_term     text        NOT NULL CHECK (spanish_term <> ''),
  english_term     text        NOT NULL CHECK (english_term <> ''),
  bounding_box     jsonb       NOT NULL,
  annotation_type  text        NOT NULL CHECK (annotation_type <> ''),
  difficulty_level integer     CHECK (difficulty_level BETWEEN 1 AND 5),
  confidence       real        NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
  status           text        NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'approved', 'rejected', 'edited')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  reviewed_at      timestamptz,
  reviewed_by      text
);
-- Removing a job nulls job_id here; without this index that scans the table.
CREATE INDEX ai_annotation_items_job_id_idx ON ai_annotation_items (job_id) WHERE job_id IS NOT NULL;
