-- A reference, not the baseline: one transfer as the service did it before the engine (7
-- statements, 7 round trips): idempotency row, both wallets locked in id order, two
-- updates, the transaction row, two legs (no audit row, no rule checks). Wallets as in
-- engine_transfer.sql: -D hot=1 debits the treasury, else a source uniform over first..last.
\set src (1 - :hot) * random(:first, :last) + :hot * :treasury
\set r random(0, :last - :first - 1)
\set dst :first + (:src - :first + 1 + :r) % (:last - :first + 1)
BEGIN;
INSERT INTO idempotency_keys (scope, key, fingerprint, response_status, created_at)
  VALUES ('pgbench', gen_random_uuid()::text, 'fp', 201, now());
SELECT id, balance FROM wallets WHERE id IN (:src, :dst) ORDER BY id FOR UPDATE;
UPDATE wallets SET balance = balance - 0.01, updated_at = now() WHERE id = :src;
UPDATE wallets SET balance = balance + 0.01, updated_at = now() WHERE id = :dst;
INSERT INTO transactions (kind, amount, currency, source_wallet_id, dest_wallet_id, created_by, created_at)
  VALUES ('transfer', 0.01, 'USD', :src, :dst, 'pgbench', now());
INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after, created_at)
  SELECT :src::bigint, currval(pg_get_serial_sequence('transactions', 'id')), -0.01, balance, now() FROM wallets WHERE id = :src
  UNION ALL
  SELECT :dst::bigint, currval(pg_get_serial_sequence('transactions', 'id')), 0.01, balance, now() FROM wallets WHERE id = :dst;
COMMIT;
