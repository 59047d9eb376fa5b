-- A batch: many movements asked in one request, posted by one call and one commit
-- (docs/DESIGN.md, "Batches"). The protocol of ledger_post() around a list of its calls:
-- claim the batch's key; lock every wallet the batch touches, in ascending id order, before
-- any item (its items then never wait on each other, and a batch never deadlocks with single
-- movements, which lock in the same order); decide four eyes for the batch as a whole; post
-- each item through ledger_post() itself (the one place every rule is checked), in order,
-- a refusal undoing that item alone; write what became of each item. `atomic`: any refusal
-- raises `batch_refused` naming every refused item, and the whole call, the key's claim
-- included, rolls back. `independent`: the refused items are
-- listed, the others stay posted.
--
-- p_items: the items as ledger/engine.py composed them from the catalogue, a JSON array of
-- {kind, amount, source, dest, reference, fp, wallets, systems, likes, amounts, fields,
-- fee_payer}, the arrays as PostgreSQL array literals (ledger_post's parameters of the same
-- names). p_resolve ('approve' | 'reject') with p_target: a second person decides a batch
-- that awaits approval (its items are the stored ones; p_items is composed from them), before
-- its expiry; 'expire' (expire-holds) ends one after it.
CREATE FUNCTION ledger_batch(
    p_scope text, p_key text, p_fp text, p_actor text, p_owner text, p_issuer text, p_ip text,
    p_mode text, p_items jsonb, p_rate_max_age int, p_expires_in int,
    p_resolve text DEFAULT NULL, p_target bigint DEFAULT NULL, p_reason text DEFAULT NULL,  -- approve | reject | expire
    -- The console's review: every item checked as if posted, even when the batch would wait
    -- (`waits` says so); the caller rolls the call back.
    p_dry_run boolean DEFAULT FALSE,
    -- Made by someone who may not move money alone (the console's finance role): the batch
    -- waits for a second person whatever its amounts.
    p_always_wait boolean DEFAULT FALSE,
    OUT verdict text,       -- posted | replay | awaiting_approval | rejected | expired
    OUT batch_id bigint, OUT batch_status text, OUT first_status int, OUT waits boolean)
-- Generic plans, as ledger_post(): a custom plan of a system row's lookup for shard 0 (every
-- customer wallet's shard too) expected thousands of rows from the unique index and scanned
-- every wallet of the currency instead, 54-66 ms per lookup on 100,000 wallets, in the first
-- five of each connection (bench/RESULTS.md, 2026-12-07 22:10).
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    batch batches;
    i int;
    n int;
    first int := 0;
    current int;
    failed int;
    four_eyes text;
    tx_ids bigint[];
    codes text[];
    details text[];
    refused int := 0;
    code text;
    detail text;
    ids bigint[];
    shards int;
    run record;
    legs record;
    got bigint[];
    busy bigint;
BEGIN
    -- 1. The batch: claimed by its key (a new one), or the one a second person decides.
    IF p_target IS NULL THEN
        INSERT INTO batches (scope, key, fingerprint, mode, status, item_count, response_status, created_by,
                             maker_scope, maker_issuer, created_at)
        VALUES (p_scope, p_key, p_fp, p_mode, 'posted', jsonb_array_length(p_items), 201, p_actor, p_owner,
                p_issuer, now())
        ON CONFLICT (scope, key) DO NOTHING
        RETURNING * INTO batch;
        IF batch.id IS NULL THEN
            SELECT * INTO batch FROM batches b WHERE b.scope = p_scope AND b.key = p_key;
            IF batch.fingerprint <> p_fp THEN
                PERFORM ledger_refuse('idempotency_key_reused', 'idempotency_key', '{}');
            END IF;
            verdict := 'replay';
            batch_id := batch.id;
            batch_status := batch.status;
            first_status := batch.response_status;
            RETURN;
        END IF;
    ELSE
        SELECT * INTO batch FROM batches b WHERE b.id = p_target FOR UPDATE;
        IF batch.id IS NULL THEN
            PERFORM ledger_refuse('not_found', 'batch_id', jsonb_build_object('batch_id', p_target));
        END IF;
        -- A waiting batch is decided before its expiry, and expires only after it (ledger_hold's
        -- rules for an approval request).
        IF batch.status <> 'awaiting_approval' OR (batch.expires_at <= now()) <> (p_resolve = 'expire') THEN
            PERFORM ledger_refuse('not_awaiting_approval', 'batch_id', jsonb_build_object(
                'batch_id', batch.id,
                'status', CASE WHEN batch.status = 'awaiting_approval' AND p_resolve <> 'expire' THEN 'expired'
                               ELSE batch.status END));
        END IF;
        -- One person never decides their own (ledger_hold's rule): not the maker's owner, nor
        -- the operator who issued the maker's token, on either side.
        IF p_resolve <> 'expire'
           AND (batch.maker_scope IN (p_owner, p_issuer) OR batch.maker_issuer IN (p_owner, p_issuer)) THEN
            PERFORM ledger_refuse('maker_cannot_approve', 'batch_id', jsonb_build_object('batch_id', batch.id));
        END IF;
    END IF;
    batch_id := batch.id;

    IF p_resolve IN ('reject', 'expire') THEN
        batch_status := CASE p_resolve WHEN 'reject' THEN 'rejected' ELSE 'expired' END;
        UPDATE batches SET status = batch_status, resolved_by = p_actor, resolved_at = now(), resolve_reason = p_reason
        WHERE id = batch.id;
        UPDATE batch_items SET status = batch_status WHERE batch_items.batch_id = batch.id;
        INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
        VALUES (p_actor, 'batch.' || p_resolve, 'batch', batch.id::text, p_ip,
                json_build_object('items', batch.item_count, 'reason', p_reason), now());
        verdict := batch_status;
        first_status := 200;
        RETURN;
    END IF;

    -- 2. Every wallet the batch touches, locked in ascending id order (ledger_check locks the
    --    same rows again for each item, holding them already). Before the locks, the items'
    --    legs (ledger_post's step 4 comes before its locks too): the batch holds its locks for
    --    the checks and the write, and locks the wallets those legs touch, no more (a system
    --    wallet only when an item moves money through it: plain transfers share none). For
    --    the items from the first ledger_batch_legs() refused on, which ledger_post() takes
    --    one by one: their own wallets and every system wallet of their currency, in the shard
    --    their paying wallet hashes to (as ledger_legs picks it). The shard count is read
    --    once, under a share lock: `flask system-shards` waits for the batch.
    shards := coalesce((SELECT s.system_shards FROM ledger_settings s FOR SHARE), 1);
    SELECT * INTO legs FROM ledger_batch_legs(batch, p_items, p_rate_max_age);
    SELECT array_agg(DISTINCT w) INTO ids
    FROM (SELECT unnest(legs.ids)
          UNION ALL
          SELECT v.w
          FROM jsonb_array_elements(p_items) WITH ORDINALITY o (it, n)
          CROSS JOIN LATERAL (VALUES ((o.it ->> 'source')::bigint), ((o.it ->> 'dest')::bigint)) v (w)
          WHERE o.n > legs.upto
          UNION ALL
          SELECT s.id
          FROM (SELECT DISTINCT c.currency, ledger_shard(c.id, shards) AS shard
                FROM jsonb_array_elements(p_items) WITH ORDINALITY o (it, n)
                JOIN wallets c ON c.id = coalesce((o.it ->> 'source')::bigint, (o.it ->> 'dest')::bigint)
                WHERE o.n > legs.upto) p
          JOIN wallets s ON s.system_purpose IS NOT NULL AND s.currency = p.currency AND s.shard = p.shard) a (w)
    WHERE w IS NOT NULL;
    -- Never waiting while holding any of them: a batch holds hundreds of wallets, and one that
    --    waited with the lower part of its set locked would stall every batch and movement
    --    needing any of those behind it, one batch at a time (bench/RESULTS.md, issue 26). Each
    --    try takes at once those free (SKIP LOCKED); when one is busy the try is undone (its
    --    subtransaction), and the next waits for that wallet alone, then tries again.
    SELECT array_agg(wl.id ORDER BY wl.id) INTO ids FROM wallets wl WHERE wl.id = ANY (ids);  -- those that exist
    LOOP
        BEGIN
            IF busy IS NOT NULL THEN
                PERFORM 1 FROM wallets wl WHERE wl.id = busy FOR UPDATE;
            END IF;
            SELECT array_agg(l.id) INTO got
            FROM (SELECT wl.id FROM wallets wl WHERE wl.id = ANY (ids) ORDER BY wl.id FOR UPDATE SKIP LOCKED) l;
            EXIT WHEN coalesce(cardinality(got), 0) = coalesce(cardinality(ids), 0);
            busy := (SELECT min(w) FROM (SELECT unnest(ids) EXCEPT SELECT unnest(got)) b (w));
            RAISE EXCEPTION USING ERRCODE = 'WA002';  -- undo the try: hold nothing while waiting
        EXCEPTION WHEN SQLSTATE 'WA002' THEN
            NULL;
        END;
    END LOOP;

    -- 3. Four eyes for the batch as a whole, under those locks: it waits when a currency's
    --    total passes its threshold, or any wallet's share of it, with that wallet's
    --    unapproved day, does (ledger_must_wait: splitting a batch does not help either).
    IF p_target IS NULL THEN
        SELECT coalesce(bool_or(t.total > ledger_threshold(t.currency)), false) INTO waits
        FROM (SELECT w.currency, sum((it ->> 'amount')::numeric) AS total
              FROM jsonb_array_elements(p_items) it
              JOIN wallets w ON w.id = coalesce((it ->> 'source')::bigint, (it ->> 'dest')::bigint)
              GROUP BY w.currency) t;
        IF NOT waits THEN
            SELECT coalesce(bool_or(ledger_must_wait(CASE WHEN s.inflow THEN NULL ELSE s.wallet_id END,
                                                     CASE WHEN s.inflow THEN s.wallet_id END,
                                                     s.total, w.currency, w.held, NULL, NULL)), false)
            INTO waits
            FROM (SELECT coalesce((it ->> 'source')::bigint, (it ->> 'dest')::bigint) AS wallet_id,
                         (it ->> 'source') IS NULL AS inflow, sum((it ->> 'amount')::numeric) AS total
                  FROM jsonb_array_elements(p_items) it
                  GROUP BY 1, 2) s
            JOIN wallets w ON w.id = s.wallet_id;
        END IF;
        waits := waits OR p_always_wait;
        IF waits AND NOT p_dry_run THEN
            INSERT INTO batch_items (batch_id, index, kind, amount, source_wallet_id, dest_wallet_id, reference,
                                     status)
            SELECT batch.id, (o.n - 1)::int, it ->> 'kind', (it ->> 'amount')::numeric, (it ->> 'source')::bigint,
                   (it ->> 'dest')::bigint, it ->> 'reference', 'awaiting_approval'
            FROM jsonb_array_elements(p_items) WITH ORDINALITY o (it, n);
            UPDATE batches SET status = 'awaiting_approval', response_status = 202,
                               expires_at = now() + make_interval(secs => p_expires_in)
            WHERE id = batch.id;
            INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
            VALUES (p_actor, 'batch.awaiting_approval', 'batch', batch.id::text, p_ip,
                    json_build_object('mode', p_mode, 'items', batch.item_count), now());
            verdict := 'awaiting_approval';
            batch_status := 'awaiting_approval';
            first_status := 202;
            RETURN;
        END IF;
    END IF;

    -- 4. The items as one set (ledger_batch_run: one statement per step for them all) up to
    --    the first a rule refuses; that one and those after it each through the one write
    --    path, ledger_post(), in order, which names each refusal. A refusal undoes that item
    --    alone, without a subtransaction per item (past 64 in one transaction PostgreSQL's
    --    snapshots slow down for every session): the items from `first` on run in one block;
    --    when item k is refused the block rolls back, the items before k run again (they
    --    passed, on the same state under the same locks, so they pass again), k is recorded
    --    as refused, and the next block starts after it.
    n := jsonb_array_length(p_items);
    tx_ids := array_fill(NULL::bigint, ARRAY[n]);  -- 1..n: item i at i + 1
    codes := array_fill(NULL::text, ARRAY[n]);
    details := codes;
    four_eyes := CASE WHEN p_target IS NULL THEN 'batch' ELSE 'never' END;
    run := ledger_batch_run(batch, p_items, legs.upto, legs.txs, legs.item_fees, legs.tx_of, legs.ids, legs.amounts,
                            legs.fields, legs.systems, legs.likes, legs.firsts, four_eyes <> 'never', p_ip);
    IF run.upto > 0 THEN
        tx_ids[1:run.upto] := run.tx_ids;
    END IF;
    first := run.upto;
    WHILE first < n LOOP
        failed := NULL;
        BEGIN
            FOR i IN first .. n - 1 LOOP
                current := i;
                tx_ids[i + 1] := ledger_batch_item(batch, i, p_items -> i, four_eyes, p_ip, p_rate_max_age,
                                                   p_expires_in);
            END LOOP;
        EXCEPTION WHEN SQLSTATE 'WA001' THEN
            GET STACKED DIAGNOSTICS code = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
            failed := current;
        END;
        EXIT WHEN failed IS NULL;
        BEGIN
            FOR i IN first .. failed - 1 LOOP
                tx_ids[i + 1] := ledger_batch_item(batch, i, p_items -> i, four_eyes, p_ip, p_rate_max_age,
                                                   p_expires_in);
            END LOOP;
        EXCEPTION WHEN SQLSTATE 'WA001' THEN
            -- What passed a moment ago is refused now: something the batch's locks do not hold
            -- changed (the fee schedule, a key claimed meanwhile). The whole call is retried,
            -- on the state as it is then (a serialization failure: the caller retries it).
            RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'a batch item changed its outcome: retry';
        END;
        tx_ids[failed + 1] := NULL;
        codes[failed + 1] := code;
        details[failed + 1] := detail;
        refused := refused + 1;
        first := failed + 1;
    END LOOP;

    IF p_mode = 'atomic' AND refused > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'WA001', MESSAGE = 'batch_refused',
            DETAIL = jsonb_build_object('field', 'items', 'errors', (
                SELECT jsonb_agg(jsonb_build_object('index', r.n - 1, 'code', r.code, 'detail', r.detail::jsonb)
                                 ORDER BY r.n)
                FROM unnest(codes, details) WITH ORDINALITY r (code, detail, n)
                WHERE r.code IS NOT NULL))::text;
    END IF;

    -- 5. What became of each item, and of the batch.
    batch_status := CASE WHEN refused = 0 THEN 'posted'
                         WHEN refused = n THEN 'refused'
                         ELSE 'partially_posted' END;
    IF p_target IS NULL THEN
        INSERT INTO batch_items (batch_id, index, kind, amount, source_wallet_id, dest_wallet_id, reference, status,
                                 transaction_id, error_code, error_detail)
        SELECT batch.id, (o.n - 1)::int, it ->> 'kind', (it ->> 'amount')::numeric, (it ->> 'source')::bigint,
               (it ->> 'dest')::bigint, it ->> 'reference',
               CASE WHEN codes[o.n] IS NULL THEN 'posted' ELSE 'refused' END, tx_ids[o.n], codes[o.n],
               details[o.n]
        FROM jsonb_array_elements(p_items) WITH ORDINALITY o (it, n);
        UPDATE batches SET status = batch_status WHERE id = batch.id;
    ELSE
        UPDATE batch_items bi SET status = CASE WHEN codes[bi.index + 1] IS NULL THEN 'posted' ELSE 'refused' END,
                                  transaction_id = tx_ids[bi.index + 1], error_code = codes[bi.index + 1],
                                  error_detail = details[bi.index + 1]
        WHERE bi.batch_id = batch.id;
        UPDATE batches SET status = batch_status, resolved_by = p_actor, resolved_at = now() WHERE id = batch.id;
        UPDATE transactions SET approved_by = p_actor, approved_at = now() WHERE transactions.batch_id = batch.id;
        INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
        VALUES (p_actor, 'batch.approve', 'batch', batch.id::text, p_ip,
                json_build_object('items', batch.item_count, 'posted', batch.item_count - refused), now());
    END IF;
    verdict := 'posted';
    first_status := CASE WHEN p_target IS NULL THEN 201 ELSE 200 END;
END $$;
