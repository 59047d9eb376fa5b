-- One item of a batch through the one write path: ledger_post() with the item's parameters
-- (ledger/engine.py's batch_item()), claimed as '<batch key>:<index>' in the scope
-- 'batch:<maker's scope>' (never a single movement's key of the same text), its transaction
-- naming the batch. `p_four_eyes`: 'batch' (the batch as a whole need
-- not wait) or 'never' (a second person approved the batch). Its transaction's id.
CREATE FUNCTION ledger_batch_item(p_batch batches, p_index int, p_item jsonb, p_four_eyes text, p_ip text,
                                  p_rate_max_age int, p_expires_in int)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    posted record;
BEGIN
    SELECT * INTO posted FROM ledger_post(
        p_scope => 'batch:' || p_batch.scope, p_key => p_batch.key || ':' || p_index, p_fp => p_item ->> 'fp',
        p_actor => p_batch.created_by, p_owner => p_batch.maker_scope, p_kind => p_item ->> 'kind',
        p_amount => (p_item ->> 'amount')::numeric, p_source => (p_item ->> 'source')::bigint,
        p_dest => (p_item ->> 'dest')::bigint, p_wallets => (p_item ->> 'wallets')::bigint[],
        p_systems => (p_item ->> 'systems')::text[], p_likes => (p_item ->> 'likes')::int[],
        p_amounts => (p_item ->> 'amounts')::numeric[], p_fields => (p_item ->> 'fields')::text[],
        p_rate_max_age => p_rate_max_age, p_expires_in => p_expires_in,
        p_fee_payer => (p_item ->> 'fee_payer')::int, p_four_eyes => p_four_eyes,
        p_reference => p_item ->> 'reference', p_issuer => p_batch.maker_issuer, p_ip => p_ip,
        p_converts => (p_item ->> 'converts')::boolean[], p_batch => p_batch.id, p_fee_kind => p_item ->> 'fee_kind');
    RETURN posted.tx_id;
END $$;
