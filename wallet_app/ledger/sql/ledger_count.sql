-- Four eyes count a wallet's movements that no second person approved, per hour: its
-- outflows (what it pays) and its inflows (money from outside: funds, an exchange's converted
-- amount). Written under the wallet's row lock by the movement itself, so the hourly row adds
-- no contention of its own, and a busy wallet's day is at most 25 rows to sum.
CREATE FUNCTION ledger_count(p_wallet bigint, p_inflow boolean, p_at timestamptz, p_amount numeric) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO wallet_flows AS f (wallet_id, inflow, hour, amount)
    VALUES (p_wallet, p_inflow, date_trunc('hour', p_at), p_amount)
    ON CONFLICT (wallet_id, inflow, hour) DO UPDATE SET amount = f.amount + EXCLUDED.amount
$$;
