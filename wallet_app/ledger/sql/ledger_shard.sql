-- The shard of the system wallets a movement paid by (or, from outside, paid to) p_wallet
-- uses, of p_shards (ledger_settings.system_shards): one wallet's movements share their system
-- rows, different wallets' spread over them (docs/DESIGN.md, "No hot row"). A single
-- expression: PostgreSQL inlines it into the statement that calls it.
CREATE FUNCTION ledger_shard(p_wallet bigint, p_shards int) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_shards > 1 THEN (abs(hashtext(p_wallet::text)::bigint) % p_shards)::int ELSE 0 END
$$;
