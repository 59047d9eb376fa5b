-- The baseline: one transfer as ONE call of the engine, ledger_post() (wallet_app/ledger/sql/ledger_post.sql), the
-- legs composed as the catalogue does (source -0.01, dest +0.01 in the source's currency; the
-- source pays the transfer fee of fee_schedule, if it has one).
-- This is the limit of our own work: the service and the API run this same call.
-- With -D hot=1 every transfer debits the treasury; with hot=0 the source is uniform over
-- the other customer wallets, first..last. The destination is another of first..last.
\set src (1 - :hot) * random(:first, :last) + :hot * :treasury
\set r random(0, :last - :first - 1)
\set dst :first + (:src - :first + 1 + :r) % (:last - :first + 1)
SELECT * FROM ledger_post('pgbench', gen_random_uuid()::text, 'fp', 'transfer', 0.01, :src, :dst, NULL, 'pgbench', NULL,
  ARRAY[:src, :dst]::bigint[], ARRAY[NULL, NULL]::text[], ARRAY[NULL, 1]::int[], ARRAY[-0.01, 0.01]::numeric[],
  ARRAY['from_wallet_id', 'to_wallet_id'], 1, NULL, NULL, NULL, false,
  NULL, NULL, 3600, false, NULL, 'pgbench', true, NULL, NULL, NULL, NULL, false);
