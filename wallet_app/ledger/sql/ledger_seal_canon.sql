-- The canonical form of one link of the seal chain: a transaction's fields that never change
-- once it is posted, and its legs with ids in (p_after, p_upto], as one JSON array's text.
-- Times are epoch seconds (the same text whatever the session's time zone); amounts keep
-- their scale. NULL when the transaction is gone. Sealing and verify-chain both ask this one
-- copy.
CREATE FUNCTION ledger_seal_canon(p_tx bigint, p_after bigint, p_upto bigint)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_array(
        t.id, t.kind, t.currency, t.amount, t.fee, t.source_wallet_id, t.dest_wallet_id, t.dest_currency,
        t.dest_amount, t.rate, t.reference, t.created_by, t.reverses_transaction_id, t.batch_id,
        extract(EPOCH FROM t.created_at),
        (SELECT jsonb_agg(jsonb_build_array(h.id, h.wallet_id, h.amount, h.balance_after,
                                            extract(EPOCH FROM h.created_at)) ORDER BY h.id)
         FROM wallet_history AS h
         WHERE h.transaction_id = t.id AND h.id > p_after AND h.id <= p_upto)
    )::text
    FROM transactions AS t
    WHERE t.id = p_tx
$$;
