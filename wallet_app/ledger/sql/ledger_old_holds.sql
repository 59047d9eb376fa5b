-- A wallet's open unapproved holds made before that window: a hold counts as long as it may
-- still be captured.
CREATE FUNCTION ledger_old_holds(p_wallet bigint) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(t.amount), 0) FROM transactions t
    WHERE t.source_wallet_id = p_wallet AND t.status = 'pending' AND t.approved_by IS NULL
      AND t.created_at < date_trunc('hour', now() - interval '1 day')
$$;
