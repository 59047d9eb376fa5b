-- Step 2, for a resolution (capture | approve | void | reject | expire): lock the hold or
-- approval request it ends, before any wallet (as a reversal locks its original), so that a
-- capture and a void racing see each other and exactly one finds it open; check that this
-- person may end it so. Approving or rejecting is never the maker's, nor the issuer's of the
-- maker's token; capturing or voiding is only the maker's; expiry only past the end. A capture
-- or an approval that posts brings the hold's own movement, for at most its amount.
CREATE FUNCTION ledger_hold(p_target bigint, p_resolve text, p_owner text, p_issuer text,
                            p_kind text, p_amount numeric, p_source bigint, p_dest bigint)
RETURNS transactions
LANGUAGE plpgsql AS $$
DECLARE
    hold transactions;
BEGIN
    SELECT * INTO hold FROM transactions t WHERE t.id = p_target FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger_refuse('not_found', 'transaction_id', jsonb_build_object('transaction_id', p_target));
    END IF;
    IF p_resolve IN ('approve', 'reject') THEN
        IF hold.status <> 'awaiting_approval' OR hold.expires_at <= now() THEN
            PERFORM ledger_refuse('not_awaiting_approval', 'transaction_id', jsonb_build_object(
                'transaction_id', p_target,
                'status', CASE WHEN hold.status = 'awaiting_approval' THEN 'expired' ELSE hold.status END));
        END IF;
        -- One person never decides their own: not the maker's owner, nor the operator who
        -- issued the maker's token, on either side (an admin who issued an integration's
        -- token knows its secret).
        IF hold.maker_scope IN (p_owner, p_issuer) OR hold.maker_issuer IN (p_owner, p_issuer) THEN
            PERFORM ledger_refuse('maker_cannot_approve', 'transaction_id',
                                  jsonb_build_object('transaction_id', p_target));
        END IF;
    ELSIF p_resolve = 'expire' THEN
        IF hold.status NOT IN ('pending', 'awaiting_approval') OR hold.expires_at > now() THEN
            PERFORM ledger_refuse('hold_not_pending', 'transaction_id', jsonb_build_object(
                'transaction_id', p_target, 'status', hold.status));
        END IF;
    ELSIF hold.status <> 'pending' OR hold.expires_at <= now() THEN
        PERFORM ledger_refuse('hold_not_pending', 'transaction_id', jsonb_build_object(
            'transaction_id', p_target,
            'status', CASE WHEN hold.status = 'pending' THEN 'expired' ELSE hold.status END));
    ELSIF hold.maker_scope IS DISTINCT FROM p_owner THEN
        -- A hold is its maker's: only the person or integration that made it captures or
        -- voids it (expiry ends the others).
        PERFORM ledger_refuse('not_hold_maker', 'transaction_id', jsonb_build_object('transaction_id', p_target));
    END IF;
    IF p_resolve = 'capture' OR (p_resolve = 'approve' AND NOT hold.hold_requested) THEN
        -- The caller built the legs from this row: anything else is a bug, not a refusal.
        IF p_kind <> hold.kind OR p_source IS DISTINCT FROM hold.source_wallet_id
           OR p_dest IS DISTINCT FROM hold.dest_wallet_id THEN
            RAISE EXCEPTION 'ledger_post: legs do not match hold %', p_target;
        END IF;
        IF p_amount > hold.amount THEN
            PERFORM ledger_refuse('capture_exceeds_hold', 'amount', jsonb_build_object(
                'transaction_id', p_target, 'held', hold.amount::text, 'currency', hold.currency,
                'fee', coalesce(hold.held_amount - hold.amount, 0)::text));
        END IF;
    END IF;
    RETURN hold;
END $$;
