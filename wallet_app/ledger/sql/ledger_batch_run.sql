-- A batch's items, posted as one set (docs/DESIGN.md, "Batches"): what
-- ledger_post() does for each after its step 4, with one statement per step for them all.
-- Each item's legs come composed by ledger_batch_legs() (p_legs, before the batch's locks);
-- every leg is checked by
-- ledger_leg_refusal(), the rules ledger_check() asks, on its wallet's running balance (the
-- wallet's balance plus the batch's earlier legs on it, a window sum in item order) in one
-- query; the items before the first one a rule refuses are claimed (`<key>:<i>` in the scope
-- `batch:<maker's scope>`) and written by ledger_write_set() in one statement. Posts nothing past
-- that item: `upto` is its index (the number of items when all passed), for ledger_batch() to
-- decide it and what follows one by one through ledger_post(), which names the refusal.
-- The batch holds the locks of every wallet its items touch (ledger_batch, step 2).
CREATE FUNCTION ledger_batch_run(p_batch batches, p_items jsonb, p_upto int, txs transactions[], item_fees numeric[],
                                 tx_of int[], ids bigint[], amounts numeric[], fields text[], systems text[],
                                 likes int[], firsts int[], p_approvable boolean, p_ip text,
                                 OUT upto int, OUT tx_ids bigint[])
LANGUAGE plpgsql AS $$
DECLARE
    -- (txs .. firsts: ledger_batch_legs()'s, for the items before p_upto)
    posted_at timestamptz := clock_timestamp();  -- after the batch's locks: a wallet's legs grow in time as in id
    tx transactions;
    after numeric[];
    currencies text[];
    leg_txs bigint[];
    last_wallets bigint[];
    last_balances numeric[];
    refused int;
    unbalanced boolean;
    base int;
    i int;
BEGIN
    upto := p_upto;
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
        tx.created_at := posted_at;
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
