-- A batch's items, posted as one set (docs/DESIGN.md, "Batches"): what
-- ledger_post() does for each, with one statement per step for them all. Each item's legs are
-- ledger_legs()'s (its rules, its system wallets, its fee); every leg is checked by
-- ledger_leg_refusal(), the rules ledger_check() asks, on its wallet's running balance (the
-- wallet's balance plus the batch's earlier legs on it, a window sum in item order) in one
-- query; the items before the first one a rule refuses are claimed (`<key>:<i>` in the scope
-- `batch:<maker's scope>`) and written by ledger_write_set() in one statement. Posts nothing past
-- that item: `upto` is its index (the number of items when all passed), for ledger_batch() to
-- decide it and what follows one by one through ledger_post(), which names the refusal.
-- The batch holds the locks of every wallet its items touch (ledger_batch, step 2).
CREATE FUNCTION ledger_batch_run(p_batch batches, p_items jsonb, p_approvable boolean, p_ip text,
                                 p_rate_max_age int, OUT upto int, OUT tx_ids bigint[])
LANGUAGE plpgsql AS $$
DECLARE
    n int := jsonb_array_length(p_items);
    posted_at timestamptz := clock_timestamp();  -- after the batch's locks: a wallet's legs grow in time as in id
    it jsonb;
    legs record;
    tx transactions;
    txs transactions[] := '{}';
    item_fees numeric[] := '{}';
    item_likes int[];
    -- the legs of every item, in order: leg k belongs to item tx_of[k] - 1
    tx_of int[] := '{}';
    ids bigint[] := '{}';
    amounts numeric[] := '{}';
    fields text[] := '{}';
    systems text[] := '{}';
    likes int[] := '{}';    -- the leg (k) whose currency leg k must share
    firsts int[] := '{}';   -- each item's first leg
    after numeric[];
    currencies text[];
    leg_txs bigint[];
    last_wallets bigint[];
    last_balances numeric[];
    refused int;
    unbalanced boolean;
    base int;
    i int;
    j int;
BEGIN
    upto := n;
    -- 1. Each item's legs, as ledger_post() composes them; an item ledger_legs() refuses ends
    --    the set (it reads only: the block undoes nothing).
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
            tx.created_at := posted_at;
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
        NULL;  -- item `upto` is refused: the set ends before it
    END;
    IF upto = 0 THEN
        RETURN;
    END IF;

    -- 2. Every leg's rules on its wallet's running balance (what the wallet paid earlier in the
    --    batch counts toward its day); the first item with a broken rule ends the set. Each
    --    item's legs sum to zero per currency (else a catalogue bug).
    SELECT min(c.t) FILTER (WHERE c.stage IS NOT NULL), array_agg(c.before + c.amount ORDER BY c.k),
           array_agg(c.currency ORDER BY c.k), coalesce(bool_or(c.unbalanced), false)
    INTO refused, after, currencies, unbalanced
    FROM (SELECT l.t, l.k, l.before, l.amount, (l.wallet).currency,
                 (ledger_leg_refusal(l.wallet, l.id, l.system, l.field, l.amount, l.before, cu.minor_units,
                                     lk.like_wallet, l.prior, NULL, item_fees[l.t], cu.minor_units)).stage,
                 sum(l.amount) OVER (PARTITION BY l.t, (l.wallet).currency) <> 0 AS unbalanced
          FROM (SELECT u.t, u.k, u.id, u.amount, u.field, u.system, u.like_, wl.wallet,
                       (wl.wallet).balance + coalesce(sum(u.amount) OVER prior_legs, 0) AS before,
                       coalesce(sum(-least(u.amount, 0)) OVER prior_legs, 0) AS prior
                FROM unnest(tx_of, ids, amounts, fields, systems, likes) WITH ORDINALITY
                     u(t, id, amount, field, system, like_, k)
                -- (each row read by its index: a whole-row alias unique in the statement)
                LEFT JOIN LATERAL (SELECT leg_wallet AS wallet FROM wallets leg_wallet WHERE leg_wallet.id = u.id) wl
                    ON true
                WINDOW prior_legs AS (PARTITION BY u.id ORDER BY u.k ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) l
          LEFT JOIN currencies cu ON cu.code = (l.wallet).currency
          LEFT JOIN LATERAL (SELECT like_row AS like_wallet FROM wallets like_row WHERE like_row.id = ids[l.like_]) lk
              ON true) c;
    IF refused IS NOT NULL THEN
        upto := refused - 1;
    ELSIF unbalanced THEN
        RAISE EXCEPTION 'ledger_batch_run: an item''s legs do not sum to zero';
    END IF;
    IF upto = 0 THEN
        RETURN;
    END IF;

    -- 3. The items before it: their transactions' ids, their keys claimed, all written at once.
    tx_ids := array_fill(NULL::bigint, ARRAY[upto]);
    FOR i IN 1 .. upto LOOP
        tx := txs[i];
        tx.id := nextval('transactions_id_seq');
        tx.currency := currencies[firsts[i]];
        txs[i] := tx;
        tx_ids[i] := tx.id;
    END LOOP;
    INSERT INTO idempotency_keys (scope, key, fingerprint, transaction_id, response_status, created_at, operation)
    SELECT 'batch:' || p_batch.scope, p_batch.key || ':' || (o.n - 1), p_items -> (o.n - 1)::int ->> 'fp',
           o.id, 201, posted_at, 'post'
    FROM unnest(tx_ids) WITH ORDINALITY o(id, n);
    base := coalesce(firsts[upto + 1], cardinality(tx_of) + 1) - 1;  -- the legs of those items
    SELECT array_agg(tx_ids[u.t] ORDER BY u.k) INTO leg_txs FROM unnest(tx_of[1:base]) WITH ORDINALITY u (t, k);
    SELECT array_agg(b.id), array_agg(b.after) INTO last_wallets, last_balances  -- each wallet's last leg
    FROM (SELECT DISTINCT ON (u.id) u.id, u.after FROM unnest(ids[1:base], after[1:base]) WITH ORDINALITY u (id, after, k)
          ORDER BY u.id, u.k DESC) b;
    PERFORM ledger_write_set(txs[1:upto], p_batch.created_by, p_ip, leg_txs, ids[1:base], amounts[1:base],
                             after[1:base], last_wallets, last_balances, p_approvable);
END $$;
