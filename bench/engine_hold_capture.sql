-- A hold and its capture, as the engine's two calls (wallet_app/ledger/sql/ledger_post.sql): ledger_post() with
-- p_pending creates the hold (the source's held rises, nothing moves), then ledger_post() with
-- p_resolve 'capture' posts it (the hold row locked first, then the wallets). Each call is its
-- own transaction, as the API's two requests are. Source uniform over first..last.
\set src random(:first, :last)
\set r random(0, :last - :first - 1)
\set dst :first + (:src - :first + 1 + :r) % (:last - :first + 1)
SELECT tx_id AS hold FROM ledger_post('pgbench', gen_random_uuid()::text, 'fp', 'transfer', 0.01, :src, :dst, NULL,
  'pgbench', NULL, ARRAY[:src, :dst]::bigint[], ARRAY[NULL, NULL]::text[], ARRAY[NULL, 1]::int[],
  ARRAY[-0.01, 0.01]::numeric[], ARRAY['from_wallet_id', 'to_wallet_id'], 1, NULL, NULL, NULL, false,
  NULL, NULL, 3600, true, 604800, 'pgbench', true, NULL, NULL, NULL, NULL, true) \gset
SELECT * FROM ledger_post('pgbench', gen_random_uuid()::text, 'fp', 'transfer', 0.01, :src, :dst, NULL,
  'pgbench', NULL, ARRAY[:src, :dst]::bigint[], ARRAY[NULL, NULL]::text[], ARRAY[NULL, 1]::int[],
  ARRAY[-0.01, 0.01]::numeric[], ARRAY['from_wallet_id', 'to_wallet_id'], 1, NULL, NULL, NULL, false,
  NULL, NULL, 3600, false, NULL, 'pgbench', true, 'capture', :hold, NULL, NULL, true);
