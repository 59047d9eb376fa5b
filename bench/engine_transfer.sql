-- The baseline: one transfer as ONE call of the engine, ledger_post() (wallet_app/ledger/sql/ledger_post.sql), the
-- legs composed as the catalogue does (source -0.01, dest +0.01 in the source's currency; the
-- source pays the transfer fee of fee_schedule, if it has one).
-- This is the limit of our own work: the service and the API run this same call, every
-- parameter given as ledger/engine.py gives them (one left to its DEFAULT costs a read of the
-- stored defaults at every parse and plan: bench/PROFILE.md).
-- With -D hot=1 every transfer debits the treasury; with hot=0 the source is uniform over
-- the other customer wallets, first..last. The destination is another of first..last.
\set src (1 - :hot) * random(:first, :last) + :hot * :treasury
\set r random(0, :last - :first - 1)
\set dst :first + (:src - :first + 1 + :r) % (:last - :first + 1)
SELECT * FROM ledger_post(p_scope => 'pgbench', p_key => gen_random_uuid()::text, p_fp => 'fp',
  p_actor => 'pgbench', p_owner => 'pgbench', p_kind => 'transfer', p_amount => 0.01, p_source => :src, p_dest => :dst,
  p_wallets => ARRAY[:src, :dst]::bigint[], p_systems => '{NULL,NULL}', p_likes => '{NULL,1}',
  p_amounts => '{-0.01,0.01}', p_fields => '{from_wallet_id,to_wallet_id}',
  p_rate_max_age => 3600, p_expires_in => 604800, p_fee_payer => 1, p_four_eyes => 'above_threshold',
  p_holdable => true, p_reference => NULL, p_reason => NULL, p_issuer => NULL, p_ip => NULL, p_dry_run => false,
  p_converts => '{false,false}', p_rate => NULL, p_reverses => NULL, p_reversible => NULL, p_refund_fee => NULL,
  p_pending => false, p_resolve => NULL, p_target => NULL, p_batch => NULL, p_fee_kind => NULL);
