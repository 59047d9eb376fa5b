-- A resolution that moves nothing. Void, reject or expire end the hold or request: its
-- source's reservation is released, and an unapproved hold no longer counts for four eyes.
-- An approved hold request becomes the hold it asked for, until its own expiry (its maker
-- captures or voids it). Writes the transaction's new status and the audit row; returns the
-- status.
CREATE FUNCTION ledger_end_hold(hold transactions, p_resolve text, p_actor text, p_ip text, p_reason text,
                                p_at timestamptz)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    ended text := CASE p_resolve WHEN 'void' THEN 'voided' WHEN 'reject' THEN 'rejected'
                                 WHEN 'expire' THEN 'expired' ELSE 'pending' END;
BEGIN
    -- The source wallet's lock first (the hold's is held already: ledger_hold locks it before
    -- any wallet): its movements' events then take ids in the order they commit, this one's
    -- included (docs/DESIGN.md, "Events").
    PERFORM 1 FROM wallets w WHERE w.id = hold.source_wallet_id FOR UPDATE;
    IF p_resolve = 'approve' THEN
        UPDATE transactions SET status = 'pending', approved_by = p_actor, approved_at = p_at WHERE id = hold.id;
        INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
        VALUES (p_actor, 'transaction.approve', 'transaction', hold.id::text, p_ip,
                json_build_object('kind', hold.kind, 'amount', hold.amount::text, 'currency', hold.currency,
                                  'now', 'pending'), p_at);
        RETURN ended;
    END IF;
    UPDATE transactions SET status = ended, resolved_at = p_at, resolved_by = p_actor, resolve_reason = p_reason
    WHERE id = hold.id;
    UPDATE wallets SET held = held - hold.held_amount, updated_at = p_at
    WHERE id = hold.source_wallet_id AND hold.held_amount > 0;
    IF hold.status = 'pending' AND hold.approved_by IS NULL THEN
        PERFORM ledger_count(hold.source_wallet_id, false, hold.created_at, -hold.amount);
        IF hold.dest_amount IS NOT NULL THEN
            PERFORM ledger_count(hold.dest_wallet_id, true, hold.created_at, -hold.dest_amount);
        END IF;
    END IF;
    INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
    VALUES (p_actor, 'transaction.' || p_resolve, 'transaction', hold.id::text, p_ip,
            json_build_object('kind', hold.kind, 'amount', hold.amount::text, 'currency', hold.currency,
                              'released', hold.held_amount::text, 'reason', p_reason),
            p_at);
    RETURN ended;
END $$;
