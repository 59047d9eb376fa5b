-- One reversal of 0.01 as ONE call of the engine, ledger_post() (wallet_app/ledger/sql/ledger_post.sql), legs as the
-- catalogue mirrors a loaded transfer (source -> treasury): treasury -0.01, source +0.01.
-- The original is a random loaded transfer (each of 1.00 takes 100 such reversals).
\set k random(1, :transfers)
\set tx :first_transfer + :k - 1
\set src :first + (:k - 1) % (:last - :first + 1)
SELECT * FROM ledger_post(p_scope => 'pgbench', p_key => gen_random_uuid()::text, p_fp => 'fp',
  p_actor => 'pgbench', p_owner => 'pgbench', p_kind => 'reversal', p_amount => 0.01, p_source => :treasury,
  p_dest => :src, p_wallets => ARRAY[:treasury, :src]::bigint[], p_systems => '{NULL,NULL}', p_likes => '{NULL,1}',
  p_amounts => '{-0.01,0.01}', p_fields => '{transaction_id,transaction_id}', p_reason => 'bench',
  p_rate_max_age => 3600, p_expires_in => 604800, p_reverses => :tx, p_reversible => true);
