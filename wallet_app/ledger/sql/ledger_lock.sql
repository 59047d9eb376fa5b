-- Step 5: lock every wallet the legs touch, in ascending id order, so that two movements
-- between the same wallets in opposite directions never deadlock. Answers them in leg order
-- (NULL for a wallet that does not exist), with their currency's minor units. A dry run takes
-- the same locks, for the moment it runs: what it checks is what a write would find.
CREATE FUNCTION ledger_lock(p_ids bigint[], OUT locked wallets[], OUT places int[])
LANGUAGE plpgsql AS $$
DECLARE
    w record;
    n int := cardinality(p_ids);
    i int;
BEGIN
    locked := array_fill(NULL::wallets, ARRAY[n]);
    places := array_fill(NULL::int, ARRAY[n]);
    FOR w IN
        SELECT wl AS wallet, wl.id, c.minor_units FROM wallets wl JOIN currencies c ON c.code = wl.currency
        WHERE wl.id = ANY (p_ids) ORDER BY wl.id FOR UPDATE OF wl
    LOOP
        FOR i IN 1..n LOOP
            IF p_ids[i] = w.id THEN
                locked[i] := w.wallet;
                places[i] := w.minor_units;
            END IF;
        END LOOP;
    END LOOP;
END $$;
