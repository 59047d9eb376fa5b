-- Steps 5 and 6: lock every wallet the legs touch, in ascending id order (two movements
-- between the same wallets in opposite directions never deadlock), then check every rule about
-- them under those locks, in the order a caller sees them. A dry run takes the same locks for
-- the moment it runs: what it checks is what a write would find. A customer leg names an active
-- customer wallet; legs that follow another share its currency; amounts fit the currency's
-- minor units. A debit leaves the wallet above its floor (minus its overdraft limit; an
-- unbounded system wallet has none) after what its live holds reserve, and within its daily
-- outflow limit; a credit stays within its max_balance; no balance passes the column's
-- ceiling. Legs sum to zero per currency (else a catalogue bug, not a refusal). Answers the
-- legs' currencies, balances before and after, what the movement's customer debits come to
-- (what a hold of it reserves), the first leg's currency's minor units, and what p_source has
-- held (four eyes count its open holds).
CREATE FUNCTION ledger_check(p_kind text, p_target bigint, p_source bigint, p_ids bigint[], p_amounts numeric[],
                             p_fields text[], p_systems text[], p_likes int[], p_fee numeric,
                             OUT currencies text[], OUT before numeric[], OUT after numeric[], OUT reserved numeric,
                             OUT places int, OUT source_held numeric)
LANGUAGE plpgsql AS $$
DECLARE
    n int := cardinality(p_amounts);
    locked wallets[] := array_fill(NULL::wallets, ARRAY[n]);
    units int[] := array_fill(NULL::int, ARRAY[n]);
    row_ record;
    w wallets;
    floor_ numeric;
    live numeric;
    spent numeric;
    i int;
    j int;
BEGIN
    FOR row_ IN
        SELECT wl AS wallet, wl.id, c.minor_units FROM wallets wl JOIN currencies c ON c.code = wl.currency
        WHERE wl.id = ANY (p_ids) ORDER BY wl.id FOR UPDATE OF wl
    LOOP
        FOR i IN 1..n LOOP
            IF p_ids[i] = row_.id THEN
                locked[i] := row_.wallet;
                units[i] := row_.minor_units;
            END IF;
        END LOOP;
    END LOOP;
    reserved := 0;
    source_held := 0;
    places := units[1];
    currencies := array_fill(NULL::text, ARRAY[n]);
    before := array_fill(NULL::numeric, ARRAY[n]);
    after := array_fill(NULL::numeric, ARRAY[n]);
    FOR i IN 1..n LOOP
        currencies[i] := locked[i].currency;
        before[i] := locked[i].balance;
        -- A customer leg names a customer wallet: a system wallet is the ledger's own.
        IF p_systems[i] IS NULL AND (currencies[i] IS NULL OR locked[i].system_purpose IS NOT NULL) THEN
            PERFORM ledger_refuse('not_found', p_fields[i], jsonb_build_object('wallet_id', p_ids[i]));
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        IF currencies[i] IS NULL THEN
            RAISE EXCEPTION 'ledger_post: no % system wallet for leg %', p_systems[i], i;
        END IF;
        IF p_systems[i] IS NULL AND locked[i].status <> 'active' THEN
            PERFORM ledger_refuse('wallet_not_active', p_fields[i], jsonb_build_object(
                'wallet_id', p_ids[i], 'owner', locked[i].owner_name, 'status', locked[i].status));
        END IF;
    END LOOP;
    FOR i IN 1..cardinality(p_likes) LOOP
        IF p_likes[i] IS NOT NULL AND currencies[i] <> currencies[p_likes[i]] THEN
            PERFORM ledger_refuse('currency_mismatch', p_fields[i], jsonb_build_object(
                'wallet_id', p_ids[i], 'owner', locked[i].owner_name, 'currency', currencies[i],
                'other_wallet_id', p_ids[p_likes[i]], 'other_owner', locked[p_likes[i]].owner_name,
                'other_currency', currencies[p_likes[i]]));
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        IF round(p_amounts[i], units[i]) <> p_amounts[i] THEN
            PERFORM ledger_refuse('invalid_amount', 'amount',
                                  jsonb_build_object('currency', currencies[i], 'places', units[i]));
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        w := locked[i];
        after[i] := w.balance + p_amounts[i];
        floor_ := CASE WHEN w.unbounded THEN NULL ELSE -w.overdraft_limit END;
        IF p_amounts[i] < 0 AND floor_ IS NOT NULL THEN
            -- What the wallet's live holds reserve (the one being captured aside).
            live := 0;
            IF w.held > 0 THEN
                live := ledger_live_held(w.id, coalesce(p_target, 0));
            END IF;
            IF after[i] - live < floor_ THEN
                PERFORM ledger_refuse('insufficient_funds', 'amount', jsonb_build_object(
                    'wallet_id', w.id, 'currency', w.currency, 'needed', round(-p_amounts[i], units[i])::text,
                    'fee', round(p_fee, units[1])::text, 'held', round(live, units[i])::text,
                    'available', round(w.balance - live - floor_, units[i])::text));
            END IF;
        END IF;
        IF p_amounts[i] > 0 AND after[i] > w.max_balance THEN
            PERFORM ledger_refuse('max_balance_exceeded', 'amount', jsonb_build_object(
                'wallet_id', w.id, 'owner', w.owner_name, 'currency', w.currency, 'max_balance', round(w.max_balance, units[i])::text,
                'room', round(greatest(w.max_balance - w.balance, 0), units[i])::text));
        END IF;
        IF p_amounts[i] < 0 AND w.daily_outflow_limit IS NOT NULL THEN
            -- Today's (UTC) debits of this wallet, fees included, this one included.
            SELECT coalesce(sum(-h.amount), 0) INTO spent FROM wallet_history h
            WHERE h.wallet_id = w.id AND h.amount < 0
              AND h.created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
            IF spent - p_amounts[i] > w.daily_outflow_limit THEN
                PERFORM ledger_refuse('daily_limit_exceeded', 'amount', jsonb_build_object(
                    'wallet_id', w.id, 'owner', w.owner_name, 'currency', w.currency,
                    'limit', round(w.daily_outflow_limit, units[i])::text,
                    'left', round(greatest(w.daily_outflow_limit - spent, 0), units[i])::text));
            END IF;
        END IF;
        -- The balance column's ceiling (NUMERIC(20,4)), either way: refused, not overflowed.
        IF abs(after[i]) > 9999999999999999.9999 THEN
            PERFORM ledger_refuse('balance_limit_exceeded', 'amount', jsonb_build_object(
                'wallet_id', w.id, 'currency', w.currency,
                'limit', trunc(9999999999999999.9999, units[i])::text));
        END IF;
        IF p_amounts[i] < 0 AND w.system_purpose IS NULL THEN
            reserved := reserved - p_amounts[i];
        END IF;
        IF w.id = p_source THEN
            source_held := w.held;
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        spent := 0;
        FOR j IN 1..n LOOP
            IF currencies[j] = currencies[i] THEN spent := spent + p_amounts[j]; END IF;
        END LOOP;
        IF spent <> 0 THEN
            RAISE EXCEPTION 'ledger_post: % legs do not sum to zero in %', p_kind, currencies[i];
        END IF;
    END LOOP;
END $$;
