-- A batch's step 4 (ledger_post's, for each item): every item's legs as they will be written,
-- from ledger_legs() (its rules, its system wallets, its fee), in item order, and each item's
-- transaction as far as its legs say. Called before the batch's locks, as ledger_post()
-- composes a movement's legs before its own: nothing here depends on a balance, and the
-- batch's locks then cover only the checks and the write (bench/RESULTS.md, issue 26).
-- `upto`: the index of the first item ledger_legs() refuses (the number of items when none);
-- the items from it on go through ledger_post() one by one, which names the refusal.
-- Leg k belongs to item tx_of[k] - 1; likes[k] is the leg whose currency leg k must share;
-- firsts[i] is item i - 1's first leg.
CREATE FUNCTION ledger_batch_legs(p_batch batches, p_items jsonb, p_rate_max_age int,
                                  OUT upto int, OUT txs transactions[], OUT item_fees numeric[],
                                  OUT tx_of int[], OUT ids bigint[], OUT amounts numeric[], OUT fields text[],
                                  OUT systems text[], OUT likes int[], OUT firsts int[])
LANGUAGE plpgsql AS $$
DECLARE
    n int := jsonb_array_length(p_items);
    it jsonb;
    legs record;
    tx transactions;
    item_likes int[];
    base int;
    i int;
    j int;
BEGIN
    txs := '{}';
    item_fees := '{}';
    tx_of := '{}';
    ids := '{}';
    amounts := '{}';
    fields := '{}';
    systems := '{}';
    likes := '{}';
    firsts := '{}';
    upto := n;
    BEGIN
        FOR i IN 0 .. n - 1 LOOP
            upto := i;
            it := p_items -> i;
            legs := ledger_legs(coalesce(it ->> 'fee_kind', it ->> 'kind'), (it ->> 'amount')::numeric,
                                (it ->> 'source')::bigint, (it ->> 'dest')::bigint, (it ->> 'wallets')::bigint[],
                                (it ->> 'systems')::text[], (it ->> 'likes')::int[], (it ->> 'amounts')::numeric[],
                                (it ->> 'fields')::text[], (it ->> 'converts')::boolean[], NULL, p_rate_max_age,
                                (it ->> 'fee_payer')::int, false, false, NULL);
            base := cardinality(ids);
            firsts := firsts || (base + 1);
            item_likes := (it ->> 'likes')::int[];
            FOR j IN 1 .. cardinality(legs.ids) LOOP
                tx_of := tx_of || (i + 1);
                ids := ids || legs.ids[j];
                amounts := amounts || legs.amounts[j];
                fields := fields || legs.fields[j];
                systems := systems || legs.systems[j];
                likes := likes || (base + item_likes[j]);
            END LOOP;
            item_fees := item_fees || legs.fee;
            tx := NULL;
            tx.kind := it ->> 'kind';
            tx.amount := (it ->> 'amount')::numeric;
            tx.source_wallet_id := (it ->> 'source')::bigint;
            tx.dest_wallet_id := (it ->> 'dest')::bigint;
            tx.reference := it ->> 'reference';
            tx.created_by := p_batch.created_by;
            tx.fee := legs.fee;
            tx.rate := legs.rate;
            tx.dest_amount := legs.dest_amount;
            tx.dest_currency := legs.dest_currency;
            tx.rate_version := legs.rate_version;
            tx.maker_scope := p_batch.maker_scope;
            tx.batch_id := p_batch.id;
            tx.status := 'posted';
            txs := txs || tx;
        END LOOP;
        upto := n;
    EXCEPTION WHEN SQLSTATE 'WA001' THEN
        NULL;  -- item `upto` is refused: the set ends before it (the block read only)
    END;
END $$;
