-- A currency's approval threshold: its own, else the default; with neither (the settings row
-- gone), zero: every movement waits. Four eyes fail closed.
CREATE FUNCTION ledger_threshold(p_currency text) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT a.amount FROM approval_thresholds a WHERE a.currency = p_currency),
                    (SELECT s.default_approval_threshold FROM ledger_settings s), 0)
$$;
