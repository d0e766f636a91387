-- What one accepted escrow submission (POST /v2/entries) does in the escrow database, in the order
-- the server issues it (seen with a statement trace of one submission on PostgreSQL): the request
-- budget peeked, the session and account read; the budget charged in its own transaction, which
-- does not wait for its WAL flush (storage/budgets.py: lock by upsert, store); then the submission's transaction: no entry of that
-- id yet, the account's row lock and its quota (storage/quotas.py), the person's tags inserted and
-- locked, the check that the account named neither before, the entry with its sealed body, one
-- envelope per counselor, its tags, the tags queued for the next release pass
-- (storage/repository.py create_entry) and the event sequenced for the log (storage/log.py); last
-- the reads of the receipt once integrated. Sizes are a typical text record: a 1.5 KiB body, two
-- names, one counselor's 1.2 KiB envelope (below PostgreSQL's 2 KiB TOAST threshold, so stored as
-- they are, uncompressed, whatever their bytes).
-- Variables from the runner: :accounts (reporter accounts created beforehand). Run with -M prepared.
\set a random(1, :accounts)
SELECT encode(substring(sha256(convert_to(random()::text || clock_timestamp()::text, 'UTF8')) FROM 1 FOR 16), 'hex') AS eid,
       encode(sha256(convert_to(random()::text || 'one', 'UTF8')), 'hex') AS t1,
       encode(sha256(convert_to(random()::text || 'two', 'UTF8')), 'hex') AS t2,
       encode(substring(sha256(convert_to('acct' || :a, 'UTF8')) FROM 1 FOR 16), 'hex') AS acct,
       encode(sha256(convert_to('acct' || :a, 'UTF8')), 'hex') AS bucket \gset
SELECT tokens, updated_at FROM rate_buckets WHERE budget = 'escrow-account' AND key = decode(:bucket, 'hex');
SELECT token_hash, account_id, created_at, expires_at FROM sessions WHERE token_hash = sha256(convert_to('token' || :a, 'UTF8'));
SELECT account_id, role, token_hash, name, counselor_key_id, created_at, revoked_at, message_key, notify_email, deleted_at
  FROM accounts WHERE account_id = decode(:acct, 'hex');
BEGIN;
SET LOCAL synchronous_commit TO OFF;
INSERT INTO rate_buckets (budget, key, tokens, updated_at)
  VALUES ('escrow-account', decode(:bucket, 'hex'), 60, extract(epoch from now()))
  ON CONFLICT (budget, key) DO UPDATE SET tokens = rate_buckets.tokens RETURNING tokens, updated_at;
UPDATE rate_buckets SET tokens = tokens - 1, updated_at = extract(epoch from now())
  WHERE budget = 'escrow-account' AND key = decode(:bucket, 'hex');
COMMIT;
BEGIN;
SELECT entry_id, account_id, quorum, status, body, content_hash FROM entries WHERE entry_id = decode(:eid, 'hex');
SELECT account_id FROM accounts WHERE account_id = decode(:acct, 'hex') FOR NO KEY UPDATE;
SELECT count(*), coalesce(sum(length(body)), 0) FROM entries
  WHERE account_id = decode(:acct, 'hex') AND status <> 'withdrawn';
SELECT coalesce(sum(length(entry_envelopes.ciphertext)), 0) FROM entry_envelopes
  JOIN entries ON entries.entry_id = entry_envelopes.entry_id
  WHERE entries.account_id = decode(:acct, 'hex') AND entries.status <> 'withdrawn';
INSERT INTO tags (tag) VALUES (decode(:t1, 'hex')), (decode(:t2, 'hex')) ON CONFLICT (tag) DO NOTHING;
SELECT tag FROM tags WHERE tag IN (decode(:t1, 'hex'), decode(:t2, 'hex')) ORDER BY tag FOR UPDATE;
SELECT entry_id FROM entry_tags WHERE tag IN (decode(:t1, 'hex'), decode(:t2, 'hex'))
  AND account_id = decode(:acct, 'hex') AND entry_id <> decode(:eid, 'hex') LIMIT 1;
INSERT INTO entries (entry_id, account_id, quorum, status, body, content_hash, received_at, updated_at)
  VALUES (decode(:eid, 'hex'), decode(:acct, 'hex'), 3, 'escrowed', decode(repeat(md5(random()::text), 48), 'hex'),
          sha256(decode(:eid, 'hex')), now(), now());
INSERT INTO entry_envelopes (entry_id, key_id, ciphertext)
  VALUES (decode(:eid, 'hex'), '\x00112233445566778899aabbccddeeff'::bytea, decode(repeat(md5(random()::text), 37), 'hex'));
INSERT INTO entry_tags (entry_id, tag, account_id)
  VALUES (decode(:eid, 'hex'), decode(:t1, 'hex'), decode(:acct, 'hex')), (decode(:eid, 'hex'), decode(:t2, 'hex'), decode(:acct, 'hex'));
INSERT INTO recount_queue (tag, queued_at) VALUES (decode(:t1, 'hex'), now()), (decode(:t2, 'hex'), now())
  ON CONFLICT (tag) DO NOTHING;
INSERT INTO log_sequenced (opening, entry_id, created_at)
  VALUES (sha256(decode(:eid, 'hex')) || '\x01'::bytea || decode(:eid, 'hex') || sha256(decode(:t1, 'hex')) || int8send(42),
          decode(:eid, 'hex'), now()) RETURNING id;
COMMIT;
SELECT id FROM log_sequenced WHERE entry_id = decode(:eid, 'hex') LIMIT 1;
SELECT idx, kind, data, opening FROM log_leaves WHERE entry_id = decode(:eid, 'hex') ORDER BY idx DESC LIMIT 1;
SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1;
SELECT line FROM log_cosignatures WHERE size = (SELECT max(size) FROM log_checkpoints) ORDER BY key_id;
