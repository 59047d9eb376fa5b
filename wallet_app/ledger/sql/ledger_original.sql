-- Step 3, for a reversal: lock the transaction it reverses (every reversal locks its original
-- first, so two racing reversals see each other's reversed_amount) and check that it may be
-- reversed by this much: a posted transaction, not itself a reversal, of a kind the catalogue
-- marks reversible; at most what is left of it; its fee returned once, whole.
CREATE FUNCTION ledger_original(p_reverses bigint, p_amount numeric, p_refund_fee numeric, p_reversible boolean)
RETURNS transactions
LANGUAGE plpgsql AS $$
DECLARE
    original transactions;
BEGIN
    SELECT * INTO original FROM transactions t WHERE t.id = p_reverses FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger_refuse('not_found', 'transaction_id', jsonb_build_object('transaction_id', p_reverses));
    END IF;
    IF original.reverses_transaction_id IS NOT NULL OR original.status <> 'posted' THEN
        PERFORM ledger_refuse('not_reversible', 'transaction_id', jsonb_build_object(
            'transaction_id', p_reverses, 'status', original.status, 'kind', original.kind));
    END IF;
    IF NOT coalesce(p_reversible, false) THEN  -- the catalogue's word on the original's kind
        PERFORM ledger_refuse('kind_not_reversible', 'transaction_id', jsonb_build_object(
            'transaction_id', p_reverses, 'kind', original.kind));
    END IF;
    IF p_amount > original.amount - original.reversed_amount THEN
        PERFORM ledger_refuse('reversal_exceeds_original', 'amount', jsonb_build_object(
            'transaction_id', p_reverses, 'remaining', (original.amount - original.reversed_amount)::text));
    END IF;
    IF p_refund_fee IS NOT NULL AND (original.fee_refunded OR p_refund_fee <> original.fee) THEN
        PERFORM ledger_refuse('fee_already_refunded', 'refund_fee', jsonb_build_object('transaction_id', p_reverses));
    END IF;
    RETURN original;
END $$;
