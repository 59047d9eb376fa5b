-- The details of a posted movement's audit row: its amounts in its currency's minor units
-- (p_places), and what a hold's capture released. The one copy for ledger_write and
-- ledger_write_set: a single expression, inlined into the statement that calls it.
CREATE FUNCTION ledger_audit_details(p_tx transactions, p_places int, p_released numeric) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('kind', p_tx.kind, 'amount', round(p_tx.amount, p_places)::text,
                             'currency', p_tx.currency, 'fee', round(p_tx.fee, p_places)::text,
                             'source_wallet_id', p_tx.source_wallet_id, 'dest_wallet_id', p_tx.dest_wallet_id,
                             'reverses_transaction_id', p_tx.reverses_transaction_id, 'reason', p_tx.reason,
                             'rate', p_tx.rate::text, 'dest_amount', p_tx.dest_amount::text,
                             'dest_currency', p_tx.dest_currency, 'released', p_released::text)
$$;
