-- What one batch of the log integrator writes (storage/log.py integrate and sign): the oldest
-- sequenced events, at most 256, move into the tree as leaves, with every perfect subtree they
-- complete (about one node per leaf above the leaves), the head's new size and one signed checkpoint.
BEGIN;
SELECT size FROM log_head WHERE id = 1 FOR UPDATE;
CREATE TEMP TABLE IF NOT EXISTS batch (idx bigint, opening bytea, entry_id bytea) ON COMMIT DELETE ROWS;
WITH taken AS (
  DELETE FROM log_sequenced WHERE id IN (SELECT id FROM log_sequenced ORDER BY id LIMIT 256)
  RETURNING id, opening, entry_id)
INSERT INTO batch SELECT (SELECT size FROM log_head WHERE id = 1) + row_number() OVER (ORDER BY id) - 1,
                         opening, entry_id FROM taken;
INSERT INTO log_leaves (idx, kind, data, opening, entry_id, created_at)
  SELECT idx, 1, sha256(opening), opening, entry_id, now() FROM batch;
INSERT INTO log_nodes (level, idx, hash) SELECT 0, idx, sha256('\x00'::bytea || sha256(opening)) FROM batch;
INSERT INTO log_nodes (level, idx, hash)
  SELECT level, (idx + 1) / (1::bigint << level) - 1, sha256(opening || int4send(level))
  FROM batch, generate_series(1, 40) AS level WHERE (idx + 1) % (1::bigint << level) = 0;
UPDATE log_head SET size = size + (SELECT count(*) FROM batch) WHERE id = 1;
INSERT INTO log_checkpoints (size, note, created_at)
  SELECT size, 'consilience.log/0123456789abcdef0123456789abcdef' || chr(10) || size || chr(10) ||
         encode(sha256(int8send(size)), 'base64') || chr(10) || chr(10) || repeat('x', 120), now()
  FROM log_head WHERE id = 1 ON CONFLICT DO NOTHING;
COMMIT;
