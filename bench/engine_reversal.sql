-- One reversal of 0.01 as ONE call of the engine, ledger_post() (wallet_app/ledger/sql/ledger_post.sql), legs as the
-- catalogue mirrors a loaded transfer (source -> treasury): treasury -0.01, source +0.01.
-- The original is a random loaded transfer (each of 1.00 takes 100 such reversals).
\set k random(1, :transfers)
\set tx :first_transfer + :k - 1
\set src :first + (:k - 1) % (:last - :first + 1)
SELECT * FROM ledger_post('pgbench', gen_random_uuid()::text, 'fp', 'reversal', 0.01, :treasury, :src, NULL,
  'pgbench', NULL, ARRAY[:treasury, :src]::bigint[], ARRAY[NULL, NULL]::text[], ARRAY[NULL, 1]::int[],
  ARRAY[-0.01, 0.01]::numeric[], ARRAY['transaction_id', 'transaction_id'], NULL, :tx, NULL, 'bench', false,
  NULL, NULL, 3600, false, NULL, 'pgbench', true, NULL, NULL, true, NULL, false);
