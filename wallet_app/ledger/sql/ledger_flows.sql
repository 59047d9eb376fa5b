-- A wallet's unapproved flows of the last 24 hours, in whole hours (up to 25).
CREATE FUNCTION ledger_flows(p_wallet bigint, p_inflow boolean) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(f.amount), 0) FROM wallet_flows f
    WHERE f.wallet_id = p_wallet AND f.inflow = p_inflow AND f.hour >= date_trunc('hour', now() - interval '1 day')
$$;
