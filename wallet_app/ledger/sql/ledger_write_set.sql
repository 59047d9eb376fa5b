-- A batch's step 8b (ledger_batch_run): what ledger_write writes for a new movement, for many
-- at once, in one statement: the transactions p_txs, leg k of transaction p_leg_txs[k] moving
-- p_amounts[k] on wallet p_ids[k] to p_after[k] (legs in the order they happen), each
-- wallet's balance after them all (p_wallets, p_balances), what four eyes count
-- (ledger_flows_of, summed per wallet and hour; p_counts: not when a second person approved
-- the batch) and the audit rows (ledger_audit_details), all under the batch's locks.
-- ledger_write keeps a statement of its own, with none of the steps a set needs (a join, a
-- sort, a grouping: written as one, they cost the single movement 7 % of the engine's rate,
-- bench/RESULTS.md, issue 26); tests/api/test_api_batch_set.py checks both write alike.
CREATE FUNCTION ledger_write_set(p_txs transactions[], p_actor text, p_ip text, p_leg_txs bigint[],
                                 p_ids bigint[], p_amounts numeric[], p_after numeric[], p_wallets bigint[],
                                 p_balances numeric[], p_counts boolean)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    WITH posted AS (
        INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id,
                                  reference, created_by, created_at, fee, reverses_transaction_id, reason,
                                  rate, dest_amount, dest_currency, rate_version, maker_scope, batch_id)
        SELECT x.id, x.kind, x.amount, x.currency, x.source_wallet_id, x.dest_wallet_id,
               x.reference, x.created_by, x.created_at, x.fee, x.reverses_transaction_id,
               x.reason, x.rate, x.dest_amount, x.dest_currency, x.rate_version, x.maker_scope, x.batch_id
        FROM unnest(p_txs) x
    ), balances AS (
        UPDATE wallets wl SET balance = u.after, updated_at = (p_txs[1]).created_at
        FROM unnest(p_wallets, p_balances) u (id, after)
        WHERE wl.id = u.id AND wl.id = ANY (p_wallets)  -- by the index: the join alone chose a scan of every wallet
    ), legs AS (
        INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after, created_at)
        SELECT u.id, u.tx, u.amount, u.after, (p_txs[1]).created_at
        FROM unnest(p_leg_txs, p_ids, p_amounts, p_after) WITH ORDINALITY u (tx, id, amount, after, k) ORDER BY u.k
    ), flows AS (
        INSERT INTO wallet_flows AS f (wallet_id, inflow, hour, amount)
        SELECT u.wallet_id, u.inflow, date_trunc('hour', x.created_at), sum(u.amount)
        FROM unnest(p_txs) x CROSS JOIN LATERAL ledger_flows_of(x) u
        WHERE p_counts AND u.amount IS NOT NULL
        GROUP BY 1, 2, 3
        ON CONFLICT (wallet_id, inflow, hour) DO UPDATE SET amount = f.amount + EXCLUDED.amount
    )
    INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
    SELECT p_actor, x.kind, 'transaction', x.id::text, p_ip, ledger_audit_details(x, c.minor_units, NULL), x.created_at
    FROM unnest(p_txs) x JOIN currencies c ON c.code = x.currency
    ORDER BY x.id;
END $$;
