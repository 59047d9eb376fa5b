-- Step 4: the legs as they will be written, from the legs the catalogue composed. Only a kind
-- the catalogue marks holdable is held, and a movement touches each wallet once. A system
-- leg becomes the wallet of its purpose in the currency of the leg it follows, in the shard
-- the paying wallet hashes to (migration 0014; a wallet's currency never changes: this read
-- needs no lock). An exchange's converted legs take the
-- house's quote (ledger_quote); a reversal's converted legs go back at the rate of the exchange
-- it reverses (locked by ledger_original), pro rata: what its reversals return adds up to the
-- converted amount exactly, each one's share rounded up on the running total. The payer's leg
-- pays the fee (an exchange's spread, else the kind's row in the payer currency's
-- fee_schedule), and a last leg takes it to that currency's `fees` wallet.
-- STABLE: it only reads. Its statements (and ledger_quote's) see the snapshot ledger_post's
-- call took and take none of their own: each snapshot costs, most under concurrency
-- (bench/RESULTS.md, issue 24).
CREATE FUNCTION ledger_legs(p_kind text, p_amount numeric, p_source bigint, p_dest bigint, p_wallets bigint[],
                            p_systems text[], p_likes int[], p_amounts numeric[], p_fields text[],
                            p_converts boolean[], p_rate numeric, p_rate_max_age int, p_fee_payer int,
                            p_pending boolean, p_holdable boolean, p_reverses bigint,
                            OUT ids bigint[], OUT amounts numeric[], OUT fields text[], OUT systems text[],
                            OUT fee numeric, OUT rate numeric, OUT dest_amount numeric, OUT dest_currency text,
                            OUT rate_version bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    rule record;
    quote record;
    fees_id bigint;
    shard_no int;
    i int;
    j int;
BEGIN
    ids := p_wallets;
    amounts := p_amounts;
    fields := p_fields;
    systems := p_systems;
    fee := 0;
    IF p_pending AND NOT coalesce(p_holdable, false) THEN
        PERFORM ledger_refuse('kind_not_holdable', 'pending', jsonb_build_object('kind', p_kind));
    END IF;
    FOR i IN 1..cardinality(amounts) LOOP
        FOR j IN 1..i - 1 LOOP
            IF ids[i] = ids[j] THEN
                PERFORM ledger_refuse('same_wallet', fields[i], jsonb_build_object('wallet_id', ids[i]));
            END IF;
        END LOOP;
    END LOOP;
    -- The shard of the system wallets: the one the paying wallet hashes to (so one wallet's
    -- movements share their system rows, and different wallets' spread over them); a
    -- reversal's system legs are the very rows its original used (a fee goes back from the
    -- `fees` row it was paid to).
    shard_no := (SELECT ledger_shard(coalesce(p_source, p_dest), s.system_shards) FROM ledger_settings s);
    FOR i IN 1..cardinality(amounts) LOOP
        IF systems[i] IS NOT NULL THEN
            ids[i] := coalesce(
                (SELECT h.wallet_id FROM wallet_history h JOIN wallets s ON s.id = h.wallet_id
                 WHERE p_reverses IS NOT NULL AND h.transaction_id = p_reverses AND s.system_purpose = systems[i]
                   AND s.currency = (SELECT c.currency FROM wallets c WHERE c.id = ids[p_likes[i]])
                 LIMIT 1),
                (SELECT s.id FROM wallets s
                 WHERE s.system_purpose = systems[i] AND s.shard = coalesce(shard_no, 0)
                   AND s.currency = (SELECT c.currency FROM wallets c WHERE c.id = ids[p_likes[i]])));
        END IF;
    END LOOP;
    IF true = ANY (p_converts) AND p_reverses IS NOT NULL THEN
        SELECT o.rate, o.dest_currency, o.rate_version,
               ledger_round_up((o.reversed_amount + p_amount) * o.dest_amount / o.amount, c.minor_units)
               - ledger_round_up(o.reversed_amount * o.dest_amount / o.amount, c.minor_units)
        INTO rate, dest_currency, rate_version, dest_amount
        FROM transactions o JOIN currencies c ON c.code = o.dest_currency WHERE o.id = p_reverses;
        IF dest_amount <= 0 THEN
            PERFORM ledger_refuse('amount_too_small', 'amount', jsonb_build_object(
                'currency', dest_currency, 'rate', rate::text));
        END IF;
    ELSIF true = ANY (p_converts) THEN
        quote := ledger_quote(p_source, p_dest, p_amount, p_rate, p_rate_max_age);
        fee := quote.fee;
        rate := quote.rate;
        dest_amount := quote.dest_amount;
        dest_currency := quote.dest_currency;
        rate_version := quote.version;
        fees_id := (SELECT s.id FROM wallets s
                    WHERE s.system_purpose = 'fees' AND s.currency = quote.source_currency AND s.shard = coalesce(shard_no, 0));
    ELSIF p_fee_payer IS NOT NULL THEN
        SELECT f.fixed, f.bps, f.minimum, f.maximum, cu.minor_units,
               (SELECT s.id FROM wallets s
                WHERE s.system_purpose = 'fees' AND s.currency = c.currency AND s.shard = coalesce(shard_no, 0)) AS fees_id
        INTO rule
        FROM wallets c JOIN currencies cu ON cu.code = c.currency
        LEFT JOIN fee_schedule f ON f.currency = c.currency AND f.kind = p_kind
        WHERE c.id = ids[p_fee_payer];
        IF rule.fixed IS NOT NULL THEN
            fee := rule.fixed + p_amount * rule.bps / 10000;
            fee := greatest(fee, coalesce(rule.minimum, fee));
            fee := least(fee, coalesce(rule.maximum, fee));
            fee := ledger_round_up(fee, rule.minor_units);
        END IF;
        fees_id := rule.fees_id;
    END IF;
    IF dest_amount IS NOT NULL THEN  -- the converted legs move what the conversion gives
        FOR i IN 1..cardinality(amounts) LOOP
            IF p_converts[i] THEN
                amounts[i] := sign(amounts[i]) * dest_amount;
            END IF;
        END LOOP;
    END IF;
    IF fee > 0 THEN
        amounts[p_fee_payer] := amounts[p_fee_payer] - fee;
        ids := ids || fees_id;
        amounts := amounts || fee;
        fields := fields || 'amount'::text;
        systems := systems || 'fees'::text;
    END IF;
END $$;
