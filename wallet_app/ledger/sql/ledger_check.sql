-- Steps 5 and 6: lock every wallet the legs touch, in ascending id order (two movements
-- between the same wallets in opposite directions never deadlock), then check every rule about
-- them under those locks (ledger_leg_refusal: the first broken rule, in the order a caller sees
-- them, is refused). A dry run takes the same locks for the moment it runs: what it checks is
-- what a write would find. Legs sum to zero per currency (else a catalogue bug, not a
-- refusal). Answers the legs' currencies, balances before and after, what the movement's
-- customer debits come to (what a hold of it reserves), the first leg's currency's minor
-- units, and what p_source has held (four eyes count its open holds).
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
    broken record;
    refused_stage int := 7;
    refusal record;
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
    FOR i IN 1..n LOOP
        broken := ledger_leg_refusal(locked[i], p_ids[i], p_systems[i], p_fields[i], p_amounts[i], locked[i].balance,
                                     units[i], locked[p_likes[i]], 0, p_target, p_fee, units[1]);
        IF broken.stage < refused_stage THEN
            refused_stage := broken.stage;
            refusal := broken;
        END IF;
    END LOOP;
    IF refused_stage = 2 THEN
        RAISE EXCEPTION 'ledger_post: no system wallet for a % leg', p_kind;
    ELSIF refused_stage < 7 THEN
        PERFORM ledger_refuse(refusal.code, refusal.field, refusal.detail);
    END IF;
    reserved := 0;
    source_held := 0;
    places := units[1];
    currencies := array_fill(NULL::text, ARRAY[n]);
    before := array_fill(NULL::numeric, ARRAY[n]);
    after := array_fill(NULL::numeric, ARRAY[n]);
    FOR i IN 1..n LOOP
        currencies[i] := locked[i].currency;
        before[i] := locked[i].balance;
        after[i] := locked[i].balance + p_amounts[i];
        IF p_amounts[i] < 0 AND locked[i].system_purpose IS NULL THEN
            reserved := reserved - p_amounts[i];
        END IF;
        IF locked[i].id = p_source THEN
            source_held := locked[i].held;
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
