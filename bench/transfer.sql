-- One transfer, as the service does it, for pgbench: idempotency row, both wallets locked in
-- id order, two updates, the transaction row, two history rows. With -D hot=1 every
-- transfer debits wallet 1 (the treasury); with hot=0 the source is uniform over 2..N.
\set src 1 + (1 - :hot) * random(1, :wallets - 1)
\set r random(0, :wallets - 3)
\set dst 2 + (:src - 2 + 1 + :r) % (:wallets - 1)
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
