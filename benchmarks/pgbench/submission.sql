-- What one accepted escrow submission (POST /v2/entries) writes to the escrow database, in its one
-- transaction: the shared request budgets (storage/budgets.py, one row per address and per account),
-- the account's lock and quota (storage/quotas.py), the person's tags locked and queued for the next
-- release pass, the entry with its sealed body and one envelope per counselor (storage/repository.py
-- create_entry), and the event sequenced for the log (storage/log.py, log_sequenced). Sizes are a
-- typical text record: a 1.5 KiB body, two names, one counselor's 1.2 KiB envelope (both below
-- PostgreSQL's 2 KiB TOAST threshold, so stored as they are, uncompressed, whatever their bytes).
-- Variables from the runner: :accounts (reporter accounts created beforehand).
\set a random(1, :accounts)
BEGIN;
INSERT INTO rate_buckets (budget, key, tokens, updated_at)
  VALUES ('escrow-address', sha256(convert_to('addr' || :a, 'UTF8')), 59, extract(epoch from now()))
  ON CONFLICT (budget, key) DO UPDATE SET tokens = rate_buckets.tokens - 1, updated_at = EXCLUDED.updated_at;
INSERT INTO rate_buckets (budget, key, tokens, updated_at)
  VALUES ('escrow-account', sha256(convert_to('acct' || :a, 'UTF8')), 59, extract(epoch from now()))
  ON CONFLICT (budget, key) DO UPDATE SET tokens = rate_buckets.tokens - 1, updated_at = EXCLUDED.updated_at;
SELECT account_id FROM sessions WHERE token_hash = sha256(convert_to('token' || :a, 'UTF8'));
SELECT account_id FROM accounts WHERE account_id = substring(sha256(convert_to('acct' || :a, 'UTF8')) FROM 1 FOR 16)
  FOR KEY SHARE;
SELECT count(*), coalesce(sum(length(body)), 0) FROM entries
  WHERE account_id = substring(sha256(convert_to('acct' || :a, 'UTF8')) FROM 1 FOR 16) AND status <> 'withdrawn';
CREATE TEMP TABLE IF NOT EXISTS this (entry_id bytea, t1 bytea, t2 bytea, account_id bytea) ON COMMIT DELETE ROWS;
INSERT INTO this SELECT substring(sha256(convert_to(random()::text || clock_timestamp()::text, 'UTF8')) FROM 1 FOR 16),
  sha256(convert_to(random()::text || 'one', 'UTF8')), sha256(convert_to(random()::text || 'two', 'UTF8')),
  substring(sha256(convert_to('acct' || :a, 'UTF8')) FROM 1 FOR 16);
INSERT INTO tags (tag) SELECT t1 FROM this UNION ALL SELECT t2 FROM this ON CONFLICT DO NOTHING;
SELECT tag FROM tags WHERE tag IN (SELECT t1 FROM this UNION ALL SELECT t2 FROM this) ORDER BY tag FOR UPDATE;
SELECT entry_tags.entry_id FROM entry_tags, this
  WHERE entry_tags.tag IN (this.t1, this.t2) AND entry_tags.account_id = this.account_id LIMIT 1;
INSERT INTO entries (entry_id, account_id, quorum, status, body, content_hash, received_at, updated_at)
  SELECT entry_id, account_id, 3, 'escrowed',
         decode(repeat(md5(random()::text), 48), 'hex'),
         sha256(entry_id), now(), now() FROM this;
INSERT INTO entry_envelopes (entry_id, key_id, ciphertext)
  SELECT entry_id, '\x00112233445566778899aabbccddeeff'::bytea,
         decode(repeat(md5(random()::text), 37), 'hex') FROM this;
INSERT INTO entry_tags (entry_id, tag, account_id) SELECT entry_id, t1, account_id FROM this
  UNION ALL SELECT entry_id, t2, account_id FROM this;
INSERT INTO recount_queue (tag, queued_at) SELECT t1, now() FROM this UNION ALL SELECT t2, now() FROM this
  ON CONFLICT DO NOTHING;
INSERT INTO log_sequenced (opening, entry_id, created_at)
  SELECT sha256(entry_id) || '\x01'::bytea || entry_id || sha256(entry_id || '\x02'::bytea) || int8send(42), entry_id, now()
  FROM this;
COMMIT;
