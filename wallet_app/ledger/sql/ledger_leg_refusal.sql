-- Every rule about one leg of a movement, the one copy (docs/DESIGN.md, "The write protocol"):
-- ledger_check() asks it of each leg of a movement, ledger_batch_run() of each leg of a batch
-- at once. Answers the leg's first broken rule, as `stage` (the order a caller sees them:
-- across a movement's legs the lowest stage wins, then the first leg), its code and its
-- detail; nothing when the leg passes. Stage 2 has no code: the catalogue named a system
-- wallet that does not exist, a bug the caller raises, not a refusal.
-- `w`: the leg's wallet, locked (NULL: no wallet has the id); `p_like`: the wallet of the leg
-- whose currency it must share; `p_before`: its balance before this leg (in a batch, with the
-- batch's earlier items applied); `p_prior_debits`: what the wallet paid earlier in the batch
-- (today's debits, not yet in its history). A customer leg names an active customer wallet;
-- its currency is its like's; the amount fits the currency's minor units. A debit leaves the
-- wallet above its floor (minus its overdraft limit; an unbounded system wallet has none)
-- after what its live holds reserve (hold p_target aside), and within its daily outflow
-- limit; a credit stays within its max_balance; no balance passes the column's ceiling.
-- STABLE: it only reads (live holds, today's debits), with its caller's snapshot.
CREATE FUNCTION ledger_leg_refusal(w wallets, p_id bigint, p_system text, p_field text, p_amount numeric,
                                   p_before numeric, p_units int, p_like wallets, p_prior_debits numeric,
                                   p_target bigint, p_fee numeric, p_fee_units int,
                                   OUT stage int, OUT code text, OUT field text, OUT detail jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    after numeric := p_before + p_amount;
    floor_ numeric := CASE WHEN w.unbounded THEN NULL ELSE -w.overdraft_limit END;
    live numeric := 0;
    spent numeric;
BEGIN
    field := p_field;
    -- A customer leg names a customer wallet: a system wallet is the ledger's own.
    IF p_system IS NULL AND (w.id IS NULL OR w.system_purpose IS NOT NULL) THEN
        stage := 1;
        code := 'not_found';
        detail := jsonb_build_object('wallet_id', p_id);
    ELSIF w.id IS NULL THEN
        stage := 2;
    ELSIF p_system IS NULL AND w.status <> 'active' THEN
        stage := 3;
        code := 'wallet_not_active';
        detail := jsonb_build_object('wallet_id', p_id, 'owner', w.owner_name, 'status', w.status);
    ELSIF w.currency <> p_like.currency THEN
        stage := 4;
        code := 'currency_mismatch';
        detail := jsonb_build_object('wallet_id', p_id, 'owner', w.owner_name, 'currency', w.currency,
                                     'other_wallet_id', p_like.id, 'other_owner', p_like.owner_name,
                                     'other_currency', p_like.currency);
    ELSIF round(p_amount, p_units) <> p_amount THEN
        stage := 5;
        code := 'invalid_amount';
        field := 'amount';
        detail := jsonb_build_object('currency', w.currency, 'places', p_units);
    END IF;
    IF stage IS NOT NULL THEN
        RETURN;
    END IF;
    stage := 6;
    field := 'amount';
    IF p_amount < 0 AND floor_ IS NOT NULL THEN
        IF w.held > 0 THEN
            live := ledger_live_held(w.id, coalesce(p_target, 0));
        END IF;
        IF after - live < floor_ THEN
            code := 'insufficient_funds';
            detail := jsonb_build_object(
                'wallet_id', w.id, 'currency', w.currency, 'needed', round(-p_amount, p_units)::text,
                'fee', round(p_fee, p_fee_units)::text, 'held', round(live, p_units)::text,
                'available', round(p_before - live - floor_, p_units)::text);
            RETURN;
        END IF;
    END IF;
    IF p_amount > 0 AND after > w.max_balance THEN
        code := 'max_balance_exceeded';
        detail := jsonb_build_object(
            'wallet_id', w.id, 'owner', w.owner_name, 'currency', w.currency,
            'max_balance', round(w.max_balance, p_units)::text,
            'room', round(greatest(w.max_balance - p_before, 0), p_units)::text);
        RETURN;
    END IF;
    IF p_amount < 0 AND w.daily_outflow_limit IS NOT NULL THEN
        -- Today's (UTC) debits of this wallet, fees included, this one included.
        SELECT coalesce(sum(-h.amount), 0) + p_prior_debits INTO spent FROM wallet_history h
        WHERE h.wallet_id = w.id AND h.amount < 0
          AND h.created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
        IF spent - p_amount > w.daily_outflow_limit THEN
            code := 'daily_limit_exceeded';
            detail := jsonb_build_object(
                'wallet_id', w.id, 'owner', w.owner_name, 'currency', w.currency,
                'limit', round(w.daily_outflow_limit, p_units)::text,
                'left', round(greatest(w.daily_outflow_limit - spent, 0), p_units)::text);
            RETURN;
        END IF;
    END IF;
    -- The balance column's ceiling (NUMERIC(20,4)), either way: refused, not overflowed.
    IF abs(after) > 9999999999999999.9999 THEN
        code := 'balance_limit_exceeded';
        detail := jsonb_build_object('wallet_id', w.id, 'currency', w.currency,
                                     'limit', trunc(9999999999999999.9999, p_units)::text);
        RETURN;
    END IF;
    stage := NULL;
    field := NULL;
END $$;
