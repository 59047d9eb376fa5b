-- Step 8b, post, for one movement (ledger_write_set writes a batch's at once): the transaction
-- (new, or the hold that a capture or an approval posts, its reservation released), the
-- original's reversed amount, the balances, the legs with their balance_after, what four eyes
-- count (ledger_flows_of; a captured unapproved hold moves from the hour it was made to now,
-- for what was captured; an approved one counts no more), and the audit row
-- (ledger_audit_details), all under the locks taken before.
CREATE FUNCTION ledger_write(p_tx transactions, p_hold transactions, p_resolve text, p_actor text, p_ip text,
                             p_refund_fee numeric, p_ids bigint[], p_amounts numeric[], p_after numeric[],
                             p_approvable boolean, p_places int)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    counts boolean := p_approvable AND p_hold.id IS NULL;
    release numeric := coalesce(p_hold.held_amount, 0);
BEGIN
    IF p_approvable AND p_resolve = 'capture' THEN
        counts := p_hold.approved_by IS NULL;
        IF counts THEN
            PERFORM ledger_count(p_hold.source_wallet_id, false, p_hold.created_at, -p_hold.amount);
            IF p_hold.dest_amount IS NOT NULL THEN
                PERFORM ledger_count(p_hold.dest_wallet_id, true, p_hold.created_at, -p_hold.dest_amount);
            END IF;
        END IF;
    END IF;
    IF p_hold.id IS NOT NULL THEN  -- its own statement: a new movement carries no capture machinery
        UPDATE transactions SET status = 'posted', amount = p_tx.amount, fee = p_tx.fee, resolved_at = p_tx.created_at,
                                resolved_by = p_actor, rate = p_tx.rate, dest_amount = p_tx.dest_amount,
                                rate_version = p_tx.rate_version,
                                approved_by = CASE WHEN p_resolve = 'approve' THEN p_actor ELSE approved_by END,
                                approved_at = CASE WHEN p_resolve = 'approve' THEN p_tx.created_at ELSE approved_at END
        WHERE id = p_hold.id;
    END IF;
    -- One statement (the data-modifying CTEs run as one): each statement costs executor set-up.
    WITH posted AS (
        INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id,
                                  reference, created_by, created_at, fee, reverses_transaction_id, reason,
                                  rate, dest_amount, dest_currency, rate_version, maker_scope, batch_id)
        SELECT p_tx.id, p_tx.kind, p_tx.amount, p_tx.currency, p_tx.source_wallet_id, p_tx.dest_wallet_id,
               p_tx.reference, p_tx.created_by, p_tx.created_at, p_tx.fee, p_tx.reverses_transaction_id,
               p_tx.reason, p_tx.rate, p_tx.dest_amount, p_tx.dest_currency, p_tx.rate_version, p_tx.maker_scope,
               p_tx.batch_id
        WHERE p_hold.id IS NULL
    ), reversed AS (
        UPDATE transactions t SET reversed_amount = t.reversed_amount + p_tx.amount,
                                  fee_refunded = t.fee_refunded OR p_refund_fee IS NOT NULL
        WHERE t.id = p_tx.reverses_transaction_id
    ), balances AS (
        UPDATE wallets wl SET balance = u.after, updated_at = p_tx.created_at,
                              held = wl.held - CASE WHEN wl.id = p_tx.source_wallet_id THEN release ELSE 0 END
        FROM unnest(p_ids, p_after) u(id, after) WHERE wl.id = u.id
    ), legs AS (
        INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after, created_at)
        SELECT u.id, p_tx.id, u.amount, u.after, p_tx.created_at
        FROM unnest(p_ids, p_amounts, p_after) WITH ORDINALITY u(id, amount, after, k) ORDER BY u.k
    ), flows AS (  -- ledger_count(), inline: this is every movement's path
        INSERT INTO wallet_flows AS f (wallet_id, inflow, hour, amount)
        SELECT u.wallet_id, u.inflow, date_trunc('hour', p_tx.created_at), u.amount
        FROM ledger_flows_of(p_tx) u
        WHERE counts AND u.amount IS NOT NULL
        ON CONFLICT (wallet_id, inflow, hour) DO UPDATE SET amount = f.amount + EXCLUDED.amount
    )
    INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
    VALUES (p_actor, coalesce('transaction.' || p_resolve, p_tx.kind), 'transaction', p_tx.id::text, p_ip,
            ledger_audit_details(p_tx, p_places, CASE WHEN p_hold.id IS NOT NULL THEN release END), p_tx.created_at);
END $$;
