-- The demo data set of scripts/run: small, deterministic (ids are md5-derived,
-- so README examples can name them), inserted set-wise, one statement a table.
INSERT INTO users (id, email, name)
SELECT md5('user' || i)::uuid, 'learner' || i || '@aves.example', 'Learner ' || i
FROM generate_series(1, 20) AS i;

INSERT INTO vocabulary (id, spanish_term, english_term, category)
SELECT md5('vocab' || t.ord)::uuid, t.es, t.en, t.category
FROM (VALUES
  (1, 'el pico', 'beak', 'anatomy'), (2, 'el ala', 'wing', 'anatomy'),
  (3, 'la cola', 'tail', 'anatomy'), (4, 'las plumas', 'feathers', 'anatomy'),
  (5, 'el ojo', 'eye', 'anatomy'), (6, 'la pata', 'leg', 'anatomy'),
  (7, 'volar', 'to fly', 'behaviour'), (8, 'cantar', 'to sing', 'behaviour'),
  (9, 'anidar', 'to nest', 'behaviour'), (10, 'el nido', 'nest', 'habitat'),
  (11, 'rojo', 'red', 'colour'), (12, 'azul', 'blue', 'colour'),
  (13, 'amarillo', 'yellow', 'colour'), (14, 'el bosque', 'forest', 'habitat'),
  (15, 'el lago', 'lake', 'habitat'), (16, 'la garza', 'heron', 'species')
) AS t(ord, es, en, category);

INSERT INTO user_progress (user_id, vocabulary_id, correct_count, incorrect_count, last_practiced_at)
SELECT md5('user' || u)::uuid, md5('vocab' || v)::uuid, (u * v) % 9, (u + v) % 4,
       now() - make_interval(hours => u * v)
FROM generate_series(1, 20) AS u, generate_series(1, 16) AS v
WHERE (u + v) % 3 = 0;

INSERT INTO images (id, url, species, width, height)
SELECT md5('image' || i)::uuid, 'https://images.aves.example/' || i || '.jpg',
       (ARRAY['Ardea alba', 'Turdus merula', 'Passer domesticus', 'Pica pica', 'Parus major'])[1 + i % 5],
       1600, 1200
FROM generate_series(1, 10) AS i;

INSERT INTO exercise_cache (id, user_id, exercise_type, difficulty_level, topic, exercise_data, created_at, expires_at)
SELECT md5('exercise' || i)::uuid, md5('user' || (1 + i % 20))::uuid,
       (ARRAY['visual_discrimination', 'term_matching', 'audio_recognition'])[1 + i % 3],
       1 + i % 5, CASE WHEN i % 4 = 0 THEN NULL ELSE 'topic_' || (i % 6) END,
       jsonb_build_object('prompt', '¿Qué parte es esta?', 'answer', 'el pico', 'options', jsonb_build_array('el ala', 'el pico', 'la cola')),
       now() - make_interval(mins => i),
       CASE WHEN i % 10 = 0 THEN now() - interval '1 hour'
            WHEN i % 10 = 1 THEN NULL
            ELSE now() + interval '7 days' END
FROM generate_series(1, 200) AS i;

INSERT INTO batch_jobs (id, job_type, status, total_items, processed_items, failed_items, metadata, created_at, started_at, completed_at)
SELECT md5('job' || i)::uuid, (ARRAY['ai_annotation', 'bulk_insert'])[1 + i % 2],
       (ARRAY['pending', 'processing', 'completed', 'failed', 'cancelled', 'completed', 'completed', 'failed'])[i],
       100, CASE WHEN i IN (1) THEN 0 ELSE 60 + i * 5 END, CASE WHEN i IN (4, 8) THEN 5 ELSE 0 END,
       jsonb_build_object('requested_by', 'demo'), now() - make_interval(hours => 9 - i),
       CASE WHEN i > 1 THEN now() - make_interval(hours => 9 - i) END,
       CASE WHEN i > 2 THEN now() - make_interval(hours => 8 - i) END
FROM generate_series(1, 8) AS i;

INSERT INTO ai_annotation_items (id, job_id, image_id, spanish_term, english_term, bounding_box, annotation_type, difficulty_level, confidence, status, created_at)
SELECT md5('annotation' || i)::uuid, md5('job' || (1 + 2 * (i % 4)))::uuid, md5('image' || (1 + i % 10))::uuid,
       (ARRAY['el pico', 'el ala', 'la cola', 'las plumas'])[1 + i % 4],
       (ARRAY['beak', 'wing', 'tail', 'feathers'])[1 + i % 4],
       jsonb_build_object('x', 10 * (i % 50), 'y', 7 * (i % 60), 'width', 80, 'height', 60),
       'anatomical', 1 + i % 5, round((0.5 + (i % 50) / 100.0)::numeric, 2)::real,
       (ARRAY['pending', 'pending', 'approved', 'rejected', 'edited'])[1 + i % 5],
       now() - make_interval(mins => i)
FROM generate_series(1, 100) AS i;

INSERT INTO batch_job_errors (job_id, item_index, item_id, error_message)
SELECT md5('job' || (CASE WHEN i % 2 = 0 THEN 4 ELSE 8 END))::uuid, i, 'item-' || i,
       'image could not be fetched (HTTP 404)'
FROM generate_series(1, 20) AS i;
