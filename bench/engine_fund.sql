-- A funding as ONE call of the engine: money from outside, `world` -> a customer wallet
-- (uniform over first..last), the legs as the catalogue composes them. Every funding takes
-- a `world` row of its currency: one row per currency unless the system wallets are split
-- into shards (flask system-shards N; docs/DESIGN.md, "No hot row").
\set dst random(:first, :last)
SELECT * FROM ledger_post(p_scope => 'pgbench', p_key => gen_random_uuid()::text, p_fp => 'fp',
  p_actor => 'pgbench', p_owner => 'pgbench', p_kind => 'fund', p_amount => 0.01, p_source => NULL, p_dest => :dst,
  p_wallets => ARRAY[:dst, NULL]::bigint[], p_systems => '{NULL,world}', p_likes => '{NULL,1}',
  p_amounts => '{0.01,-0.01}', p_fields => '{wallet_id,wallet_id}',
  p_rate_max_age => 3600, p_expires_in => 604800, p_fee_payer => NULL, p_four_eyes => 'above_threshold',
  p_holdable => false, p_reference => NULL, p_reason => NULL, p_issuer => NULL, p_ip => NULL, p_dry_run => false,
  p_converts => '{false,false}', p_rate => NULL, p_reverses => NULL, p_reversible => NULL, p_refund_fee => NULL,
  p_pending => false, p_resolve => NULL, p_target => NULL, p_batch => NULL, p_fee_kind => NULL);
