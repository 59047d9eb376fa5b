-- An exchange's price, always the house's: the pair's row in fx_rates, if fresh (a capture or
-- an approval quotes again). A caller's rate is only a guard: further from the house's than
-- the pair's tolerance, the movement is refused; within it, the house's rate applies. The
-- converted amount is rounded down to the destination's minor units; the spread, the fee in the
-- source's currency, up.
-- STABLE: it only reads, with its caller's snapshot.
CREATE FUNCTION ledger_quote(p_source bigint, p_dest bigint, p_amount numeric, p_rate numeric, p_rate_max_age int,
                             OUT rate numeric, OUT dest_amount numeric, OUT dest_currency text, OUT fee numeric,
                             OUT version bigint, OUT source_currency text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    pair record;
    house record;
BEGIN
    SELECT s.currency AS src, d.currency AS dst, cd.minor_units AS dst_places, cs.minor_units AS src_places,
           s.owner_name AS src_owner, d.owner_name AS dst_owner
    INTO pair
    FROM wallets s JOIN currencies cs ON cs.code = s.currency, wallets d JOIN currencies cd ON cd.code = d.currency
    WHERE s.id = p_source AND d.id = p_dest;
    IF pair.src IS NULL THEN
        IF NOT EXISTS (SELECT 1 FROM wallets w WHERE w.id = p_source) THEN
            PERFORM ledger_refuse('not_found', 'from_wallet_id', jsonb_build_object('wallet_id', p_source));
        END IF;
        PERFORM ledger_refuse('not_found', 'to_wallet_id', jsonb_build_object('wallet_id', p_dest));
    END IF;
    IF pair.src = pair.dst THEN
        PERFORM ledger_refuse('rate_not_applicable', 'rate', jsonb_build_object('currency', pair.src));
    END IF;
    SELECT r.rate, r.spread_bps, r.updated_at, r.tolerance_bps, r.version INTO house FROM fx_rates r
    WHERE r.base = pair.src AND r.quote = pair.dst;
    IF house.rate IS NULL THEN
        PERFORM ledger_refuse('currency_mismatch', 'to_wallet_id', jsonb_build_object(
            'wallet_id', p_dest, 'owner', pair.dst_owner, 'currency', pair.dst,
            'other_wallet_id', p_source, 'other_owner', pair.src_owner, 'other_currency', pair.src));
    ELSIF house.updated_at < now() - make_interval(secs => p_rate_max_age) THEN
        PERFORM ledger_refuse('rate_stale', 'rate', jsonb_build_object(
            'base', pair.src, 'quote', pair.dst, 'updated_at', house.updated_at, 'max_age', p_rate_max_age));
    ELSIF p_rate IS NOT NULL AND abs(p_rate - house.rate) * 10000 > house.rate * house.tolerance_bps THEN
        PERFORM ledger_refuse('rate_mismatch', 'rate', jsonb_build_object(
            'base', pair.src, 'quote', pair.dst, 'rate', house.rate::text, 'given', p_rate::text,
            'tolerance_bps', house.tolerance_bps));
    END IF;
    rate := house.rate;
    version := house.version;
    dest_currency := pair.dst;
    source_currency := pair.src;
    dest_amount := trunc(p_amount * house.rate, pair.dst_places);
    IF dest_amount <= 0 THEN
        PERFORM ledger_refuse('amount_too_small', 'amount', jsonb_build_object(
            'currency', pair.dst, 'rate', house.rate::text));
    END IF;
    fee := ledger_round_up(p_amount * house.spread_bps / 10000, pair.src_places);
END $$;
