-- A hold and its capture, as the engine's two calls (wallet_app/ledger/sql/ledger_post.sql): ledger_post() with
-- p_pending creates the hold (the source's held rises, nothing moves), then ledger_post() with
-- p_resolve 'capture' posts it (the hold row locked first, then the wallets). Each call is its
-- own transaction, as the API's two requests are. Source uniform over first..last.
\set src random(:first, :last)
\set r random(0, :last - :first - 1)
\set dst :first + (:src - :first + 1 + :r) % (:last - :first + 1)
SELECT tx_id AS hold FROM ledger_post(p_scope => 'pgbench', p_key => gen_random_uuid()::text, p_fp => 'fp',
  p_actor => 'pgbench', p_owner => 'pgbench', p_kind => 'transfer', p_amount => 0.01, p_source => :src, p_dest => :dst,
  p_wallets => ARRAY[:src, :dst]::bigint[], p_systems => '{NULL,NULL}', p_likes => '{NULL,1}',
  p_amounts => '{-0.01,0.01}', p_fields => '{from_wallet_id,to_wallet_id}',
  p_rate_max_age => 3600, p_expires_in => 604800, p_fee_payer => 1, p_holdable => true, p_pending => true) \gset
SELECT * FROM ledger_post(p_scope => 'pgbench', p_key => gen_random_uuid()::text, p_fp => 'fp',
  p_actor => 'pgbench', p_owner => 'pgbench', p_kind => 'transfer', p_amount => 0.01, p_source => :src, p_dest => :dst,
  p_wallets => ARRAY[:src, :dst]::bigint[], p_systems => '{NULL,NULL}', p_likes => '{NULL,1}',
  p_amounts => '{-0.01,0.01}', p_fields => '{from_wallet_id,to_wallet_id}',
  p_rate_max_age => 3600, p_expires_in => 604800, p_fee_payer => 1, p_holdable => true,
  p_resolve => 'capture', p_target => :hold, p_batch => NULL);
