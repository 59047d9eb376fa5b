-- Step 8a, write a hold or an approval request: the transaction (its status pending or
-- awaiting_approval, its end, what it reserves), the reservation on its source, an unapproved
-- hold counted for four eyes from now, the audit row; no leg moves until it is captured or
-- approved. A request's key answers 202 from now on, a replay included.
CREATE FUNCTION ledger_request(p_tx transactions, p_scope text, p_key text, p_ip text, p_approvable boolean,
                               p_places int)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id, reference, created_by,
                              created_at, fee, reason, status, held_amount, expires_at, maker_scope, rate,
                              dest_amount, dest_currency, hold_requested, reverses_transaction_id,
                              fee_refunded, rate_version, maker_issuer)
    VALUES (p_tx.id, p_tx.kind, p_tx.amount, p_tx.currency, p_tx.source_wallet_id, p_tx.dest_wallet_id,
            p_tx.reference, p_tx.created_by, p_tx.created_at, p_tx.fee, p_tx.reason, p_tx.status,
            p_tx.held_amount, p_tx.expires_at, p_tx.maker_scope, p_tx.rate, p_tx.dest_amount, p_tx.dest_currency,
            p_tx.hold_requested, p_tx.reverses_transaction_id, p_tx.fee_refunded, p_tx.rate_version,
            p_tx.maker_issuer);
    IF p_tx.status = 'awaiting_approval' THEN
        UPDATE idempotency_keys SET response_status = 202 WHERE scope = p_scope AND key = p_key;
    END IF;
    UPDATE wallets SET held = held + p_tx.held_amount, updated_at = p_tx.created_at
    WHERE id = p_tx.source_wallet_id AND p_tx.held_amount > 0;
    IF p_tx.status = 'pending' AND p_approvable THEN  -- an unapproved hold counts from now
        PERFORM ledger_count(p_tx.source_wallet_id, false, p_tx.created_at, p_tx.amount);
        IF p_tx.dest_currency IS NOT NULL THEN
            PERFORM ledger_count(p_tx.dest_wallet_id, true, p_tx.created_at, p_tx.dest_amount);
        END IF;
    END IF;
    INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
    VALUES (p_tx.created_by, p_tx.kind || '.' || p_tx.status, 'transaction', p_tx.id::text, p_ip,
            json_build_object('amount', round(p_tx.amount, p_places)::text, 'currency', p_tx.currency,
                              'held', round(p_tx.held_amount, p_places)::text, 'expires_at', p_tx.expires_at,
                              'source_wallet_id', p_tx.source_wallet_id, 'dest_wallet_id', p_tx.dest_wallet_id),
            p_tx.created_at);
END $$;
