-- Step 8b, post: the transactions (new, or the hold that a capture or an approval posts, its
-- reservation released), the original's reversed amount, the balances, the legs with their
-- balance_after, what four eyes count, and the audit rows, all under the locks taken before.
-- One movement (ledger_post) or a batch's many (ledger_batch_run): p_txs, and leg k of
-- transaction p_tx_of[k] moving p_amounts[k] on wallet p_ids[k] to p_after[k], legs in the
-- order they happen (a wallet's last leg leaves its balance).
-- A new movement counts from now (an exchange's reversal, stated in the exchange's terms,
-- counts what its source pays and its destination receives: the other way round); a captured
-- unapproved hold moves from the hour it was made to now, for what was captured; an approved
-- one counts no more.
CREATE FUNCTION ledger_write(p_txs transactions[], p_hold transactions, p_resolve text, p_actor text, p_ip text,
                             p_refund_fee numeric, p_tx_of int[], p_ids bigint[], p_amounts numeric[],
                             p_after numeric[], p_approvable boolean)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    counts boolean := p_approvable AND p_hold.id IS NULL;
    release numeric := coalesce(p_hold.held_amount, 0);
    p_tx transactions := p_txs[1];
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
        SELECT x.id, x.kind, x.amount, x.currency, x.source_wallet_id, x.dest_wallet_id,
               x.reference, x.created_by, x.created_at, x.fee, x.reverses_transaction_id,
               x.reason, x.rate, x.dest_amount, x.dest_currency, x.rate_version, x.maker_scope, x.batch_id
        FROM unnest(p_txs) x
        WHERE p_hold.id IS NULL
    ), reversed AS (
        UPDATE transactions t SET reversed_amount = t.reversed_amount + x.amount,
                                  fee_refunded = t.fee_refunded OR p_refund_fee IS NOT NULL
        FROM unnest(p_txs) x WHERE t.id = x.reverses_transaction_id
    ), balances AS (
        UPDATE wallets wl SET balance = u.after, updated_at = p_tx.created_at,
                              held = wl.held - CASE WHEN wl.id = p_tx.source_wallet_id THEN release ELSE 0 END
        FROM (SELECT DISTINCT ON (l.id) l.id, l.after FROM unnest(p_ids, p_after) WITH ORDINALITY l(id, after, k)
              ORDER BY l.id, l.k DESC) u
        WHERE wl.id = u.id
    ), legs AS (
        INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after, created_at)
        SELECT u.id, x.id, u.amount, u.after, x.created_at
        FROM unnest(p_tx_of, p_ids, p_amounts, p_after) WITH ORDINALITY u(t, id, amount, after, k)
        JOIN unnest(p_txs) WITH ORDINALITY x ON x.ordinality = u.t
        ORDER BY u.k
    ), flows AS (  -- ledger_count(), inline: this is every movement's path
        INSERT INTO wallet_flows AS f (wallet_id, inflow, hour, amount)
        SELECT u.wallet_id, u.inflow, date_trunc('hour', x.created_at), sum(u.amount)
        FROM unnest(p_txs) x
        CROSS JOIN LATERAL (VALUES (coalesce(x.source_wallet_id, x.dest_wallet_id), x.source_wallet_id IS NULL,
                                    CASE WHEN x.reverses_transaction_id IS NULL THEN x.amount
                                         ELSE coalesce(x.dest_amount, x.amount) END),
                                   (x.dest_wallet_id, true,
                                    CASE WHEN x.reverses_transaction_id IS NULL THEN x.dest_amount
                                         WHEN x.dest_amount IS NOT NULL THEN x.amount END)) u(wallet_id, inflow, amount)
        WHERE counts AND u.amount IS NOT NULL
        GROUP BY 1, 2, 3
        ON CONFLICT (wallet_id, inflow, hour) DO UPDATE SET amount = f.amount + EXCLUDED.amount
    )
    INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
    SELECT p_actor, coalesce('transaction.' || p_resolve, x.kind), 'transaction', x.id::text, p_ip,
           json_build_object('kind', x.kind, 'amount', round(x.amount, c.minor_units)::text,
                             'currency', x.currency, 'fee', round(x.fee, c.minor_units)::text,
                             'source_wallet_id', x.source_wallet_id, 'dest_wallet_id', x.dest_wallet_id,
                             'reverses_transaction_id', x.reverses_transaction_id, 'reason', x.reason,
                             'rate', x.rate::text, 'dest_amount', x.dest_amount::text,
                             'dest_currency', x.dest_currency,
                             'released', CASE WHEN p_hold.id IS NOT NULL THEN release::text END),
           x.created_at
    FROM unnest(p_txs) WITH ORDINALITY x JOIN currencies c ON c.code = x.currency
    ORDER BY x.ordinality;
END $$;
