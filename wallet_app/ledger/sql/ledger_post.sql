-- The one write path of the ledger (docs/DESIGN.md, "The write protocol"): the one current
-- text of ledger_post(). Migrations load this file; they never carry a copy of it.

-- A fee rounded UP to the currency's minor units: the house never charges less than its
-- rule says, so a small amount cannot round its fee away (docs/DESIGN.md, "Fees").
CREATE FUNCTION ledger_round_up(x numeric, places int) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT round(ceil(x * 10::numeric ^ places) / 10::numeric ^ places, places) $$;

-- Four eyes count a wallet's movements that no second person approved, per hour: its
-- outflows (what it pays) and its inflows (money from outside: funds, an exchange's converted
-- amount). Written under the wallet's row lock by the movement itself, so the hourly row adds
-- no contention of its own, and a busy wallet's day is at most 25 rows to sum.
CREATE FUNCTION ledger_count(p_wallet bigint, p_inflow boolean, p_at timestamptz, p_amount numeric) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO wallet_flows AS f (wallet_id, inflow, hour, amount)
    VALUES (p_wallet, p_inflow, date_trunc('hour', p_at), p_amount)
    ON CONFLICT (wallet_id, inflow, hour) DO UPDATE SET amount = f.amount + EXCLUDED.amount
$$;

-- A wallet's unapproved flows of the last 24 hours, in whole hours (up to 25).
CREATE FUNCTION ledger_flows(p_wallet bigint, p_inflow boolean) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(f.amount), 0) FROM wallet_flows f
    WHERE f.wallet_id = p_wallet AND f.inflow = p_inflow AND f.hour >= date_trunc('hour', now() - interval '1 day')
$$;

-- A wallet's open unapproved holds made before that window: a hold counts as long as it may
-- still be captured.
CREATE FUNCTION ledger_old_holds(p_wallet bigint) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(t.amount), 0) FROM transactions t
    WHERE t.source_wallet_id = p_wallet AND t.status = 'pending' AND t.approved_by IS NULL
      AND t.created_at < date_trunc('hour', now() - interval '1 day')
$$;

-- A currency's approval threshold: its own, else the default; with neither (the settings row
-- gone), zero: every movement waits. Four eyes fail closed.
CREATE FUNCTION ledger_threshold(p_currency text) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT a.amount FROM approval_thresholds a WHERE a.currency = p_currency),
                    (SELECT s.default_approval_threshold FROM ledger_settings s), 0)
$$;

CREATE FUNCTION ledger_post(
    p_scope text, p_key text, p_fp text, p_kind text, p_amount numeric,
    p_source bigint, p_dest bigint, p_reference text, p_actor text, p_ip text,
    p_wallets bigint[], p_systems text[], p_likes int[], p_amounts numeric[], p_fields text[],
    p_fee_payer int, p_reverses bigint, p_refund_fee numeric, p_reason text, p_dry_run boolean,
    p_converts boolean[],   -- legs whose amount is the converted (destination) amount
    p_rate numeric,         -- the rate the caller expects: only a guard, the house's rate applies
    p_rate_max_age int,     -- seconds: an fx_rates row older than this is refused
    p_pending boolean,      -- create a hold instead of posting
    p_expires_in int,       -- seconds: a hold's or an approval request's life
    p_owner text,           -- the person or integration behind the actor (four eyes compare owners)
    p_approvable boolean,   -- this kind is subject to the threshold
    p_resolve text,         -- capture | approve | void | reject | expire: p_target, a hold
    p_target bigint,
    p_reversible boolean,   -- a reversal: whether the catalogue lets its original's kind be reversed
    p_issuer text,          -- a token's: the operator who issued it (has seen its secret), else NULL
    p_holdable boolean,     -- whether the catalogue lets this kind be held (p_pending)
    OUT verdict text, OUT tx_id bigint, OUT posted_at timestamptz, OUT tx_currency text,
    OUT leg_wallets bigint[], OUT leg_amounts numeric[], OUT leg_balances numeric[], OUT tx_fee numeric,
    OUT leg_currencies text[], OUT tx_status text, OUT tx_rate numeric, OUT tx_dest_amount numeric,
    OUT tx_expires_at timestamptz,
    OUT first_status int)   -- the HTTP status the first answer had: 201, 202 (awaiting approval), 200 (resolution)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    ids bigint[] := p_wallets;
    amounts numeric[] := p_amounts;
    fields text[] := p_fields;
    systems text[] := p_systems;
    n int;
    cur text[];
    bal numeric[];
    st text[];
    sys text[];
    places int[];
    floor_ numeric[];
    ceiling_ numeric[];
    daily numeric[];
    held_ numeric[];
    after numeric[];
    claimed record;
    original record;
    hold record;
    pair record;
    w record;
    fee_rule record;
    found_id bigint;
    dest_cur text;
    spent numeric;
    live numeric;
    release numeric := 0;
    hold_total numeric := 0;
    counts boolean;
    counted numeric;
    threshold numeric;
    quote_version bigint;  -- the fx_rates version an exchange was priced at
    i int;
    j int;
BEGIN
    tx_fee := 0;
    tx_status := 'posted';
    -- 1. Claim the key first: a concurrent twin blocks on the unique index until we end.
    --    A resolution claims its own key for the hold's transaction.
    IF NOT p_dry_run THEN
        tx_id := coalesce(p_target, nextval('transactions_id_seq'));
        first_status := CASE WHEN p_resolve IS NULL THEN 201 ELSE 200 END;
        INSERT INTO idempotency_keys (scope, key, fingerprint, transaction_id, response_status, created_at, operation)
        VALUES (p_scope, p_key, p_fp, tx_id, first_status, now(), coalesce(p_resolve, 'post'))
        ON CONFLICT (scope, key) DO NOTHING;
        IF NOT FOUND THEN
            SELECT fingerprint, transaction_id, response_status INTO claimed
            FROM idempotency_keys WHERE scope = p_scope AND key = p_key;
            IF claimed.fingerprint <> p_fp THEN
                PERFORM ledger_refuse('idempotency_key_reused', 'idempotency_key', '{}');
            END IF;
            verdict := 'replay';
            tx_id := claimed.transaction_id;
            first_status := claimed.response_status;
            RETURN;
        END IF;
    END IF;

    -- 2. A resolution locks its hold first (transaction rows before wallets, as reversals
    --    do), so a capture and a void racing see each other: exactly one finds it open.
    IF p_target IS NOT NULL THEN
        SELECT t.status, t.kind, t.amount, t.source_wallet_id, t.dest_wallet_id, t.held_amount, t.expires_at,
               t.maker_scope, t.rate, t.currency, t.hold_requested, t.maker_issuer, t.approved_by, t.created_at,
               t.dest_amount
        INTO hold FROM transactions t WHERE t.id = p_target FOR UPDATE;
        IF NOT FOUND THEN
            PERFORM ledger_refuse('not_found', 'transaction_id', jsonb_build_object('transaction_id', p_target));
        END IF;
        IF p_resolve IN ('approve', 'reject') THEN
            IF hold.status <> 'awaiting_approval' OR hold.expires_at <= now() THEN
                PERFORM ledger_refuse('not_awaiting_approval', 'transaction_id', jsonb_build_object(
                    'transaction_id', p_target,
                    'status', CASE WHEN hold.status = 'awaiting_approval' THEN 'expired' ELSE hold.status END));
            END IF;
            -- One person never decides their own: not the maker's owner, nor the operator who
            -- issued the maker's token, on either side (an admin who issued an integration's
            -- token knows its secret).
            IF hold.maker_scope IN (p_owner, p_issuer) OR hold.maker_issuer IN (p_owner, p_issuer) THEN
                PERFORM ledger_refuse('maker_cannot_approve', 'transaction_id',
                                      jsonb_build_object('transaction_id', p_target));
            END IF;
        ELSIF p_resolve = 'expire' THEN
            IF hold.status NOT IN ('pending', 'awaiting_approval') OR hold.expires_at > now() THEN
                PERFORM ledger_refuse('hold_not_pending', 'transaction_id', jsonb_build_object(
                    'transaction_id', p_target, 'status', hold.status));
            END IF;
        ELSIF hold.status <> 'pending' OR hold.expires_at <= now() THEN
            PERFORM ledger_refuse('hold_not_pending', 'transaction_id', jsonb_build_object(
                'transaction_id', p_target,
                'status', CASE WHEN hold.status = 'pending' THEN 'expired' ELSE hold.status END));
        ELSIF hold.maker_scope IS DISTINCT FROM p_owner THEN
            -- A hold is its maker's: only the person or integration that made it captures or
            -- voids it (expiry ends the others).
            PERFORM ledger_refuse('not_hold_maker', 'transaction_id', jsonb_build_object('transaction_id', p_target));
        END IF;
        release := hold.held_amount;
        IF p_resolve IN ('void', 'reject', 'expire') THEN
            IF p_dry_run THEN
                verdict := 'checked';
                RETURN;
            END IF;
            -- Nothing moves: the hold ends and its source's reservation goes.
            posted_at := now();
            tx_status := CASE p_resolve WHEN 'void' THEN 'voided' WHEN 'reject' THEN 'rejected' ELSE 'expired' END;
            UPDATE transactions SET status = tx_status, resolved_at = posted_at, resolved_by = p_actor,
                                    resolve_reason = p_reason
            WHERE id = p_target;
            UPDATE wallets SET held = held - release, updated_at = posted_at
            WHERE id = hold.source_wallet_id AND release > 0;
            -- An unapproved hold counted when it was made; ended, it no longer counts.
            IF hold.status = 'pending' AND hold.approved_by IS NULL THEN
                PERFORM ledger_count(hold.source_wallet_id, false, hold.created_at, -hold.amount);
                IF hold.dest_amount IS NOT NULL THEN
                    PERFORM ledger_count(hold.dest_wallet_id, true, hold.created_at, -hold.dest_amount);
                END IF;
            END IF;
            INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
            VALUES (p_actor, 'transaction.' || p_resolve, 'transaction', p_target::text, p_ip,
                    json_build_object('kind', hold.kind, 'amount', hold.amount::text, 'currency', hold.currency,
                                      'released', release::text, 'reason', p_reason),
                    posted_at);
            verdict := 'posted';
            tx_currency := hold.currency;
            RETURN;
        END IF;
        -- An approved hold request becomes the hold it asked for (until its own expiry):
        -- nothing moves yet; its maker captures or voids it.
        IF p_resolve = 'approve' AND hold.hold_requested THEN
            IF p_dry_run THEN
                verdict := 'checked';
                RETURN;
            END IF;
            posted_at := now();
            tx_status := 'pending';
            UPDATE transactions SET status = 'pending', approved_by = p_actor, approved_at = posted_at
            WHERE id = p_target;
            INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
            VALUES (p_actor, 'transaction.approve', 'transaction', p_target::text, p_ip,
                    json_build_object('kind', hold.kind, 'amount', hold.amount::text, 'currency', hold.currency,
                                      'now', 'pending'), posted_at);
            verdict := 'posted';
            tx_currency := hold.currency;
            RETURN;
        END IF;
        -- capture / approve: post the hold's movement (the caller built its legs from the
        -- row, for at most its amount), releasing its reservation under the same locks.
        IF p_kind <> hold.kind OR p_source IS DISTINCT FROM hold.source_wallet_id
           OR p_dest IS DISTINCT FROM hold.dest_wallet_id THEN
            RAISE EXCEPTION 'ledger_post: legs do not match hold %', p_target;
        END IF;
        IF p_amount > hold.amount THEN
            PERFORM ledger_refuse('capture_exceeds_hold', 'amount', jsonb_build_object(
                'transaction_id', p_target, 'held', hold.amount::text));
        END IF;
    END IF;

    -- 3. Only a kind the catalogue marks holdable is held; a movement touches each wallet once.
    IF p_pending AND p_target IS NULL AND NOT coalesce(p_holdable, false) THEN
        PERFORM ledger_refuse('kind_not_holdable', 'pending', jsonb_build_object('kind', p_kind));
    END IF;
    FOR i IN 1..cardinality(amounts) LOOP
        FOR j IN 1..i - 1 LOOP
            IF ids[i] = ids[j] THEN
                PERFORM ledger_refuse('same_wallet', fields[i], jsonb_build_object('wallet_id', ids[i]));
            END IF;
        END LOOP;
    END LOOP;

    -- 4. A reversal locks its original first (every reversal does, in this order), so two
    --    racing reversals of one transaction see each other's reversed_amount.
    IF p_reverses IS NOT NULL THEN
        SELECT t.amount, t.reversed_amount, t.reverses_transaction_id, t.fee, t.fee_refunded, t.status, t.kind
        INTO original FROM transactions t WHERE t.id = p_reverses FOR UPDATE;
        IF NOT FOUND THEN
            PERFORM ledger_refuse('not_found', 'transaction_id', jsonb_build_object('transaction_id', p_reverses));
        END IF;
        IF original.reverses_transaction_id IS NOT NULL OR original.status <> 'posted' THEN
            PERFORM ledger_refuse('not_reversible', 'transaction_id', jsonb_build_object(
                'transaction_id', p_reverses, 'status', original.status, 'kind', original.kind));
        END IF;
        IF NOT coalesce(p_reversible, false) THEN  -- the catalogue's word on the original's kind
            PERFORM ledger_refuse('kind_not_reversible', 'transaction_id', jsonb_build_object(
                'transaction_id', p_reverses, 'kind', original.kind));
        END IF;
        IF p_amount > original.amount - original.reversed_amount THEN
            PERFORM ledger_refuse('reversal_exceeds_original', 'amount', jsonb_build_object(
                'transaction_id', p_reverses, 'remaining', (original.amount - original.reversed_amount)::text));
        END IF;
        IF p_refund_fee IS NOT NULL AND (original.fee_refunded OR p_refund_fee <> original.fee) THEN
            PERFORM ledger_refuse('fee_already_refunded', 'refund_fee', jsonb_build_object('transaction_id', p_reverses));
        END IF;
    END IF;

    -- 5. System legs resolve to the wallet of their purpose in the currency of the leg they
    --    follow (a wallet's currency never changes: this read needs no lock).
    FOR i IN 1..cardinality(amounts) LOOP
        IF systems[i] IS NOT NULL THEN
            SELECT s.id INTO found_id FROM wallets s
            WHERE s.system_purpose = systems[i]
              AND s.currency = (SELECT c.currency FROM wallets c WHERE c.id = ids[p_likes[i]]);
            ids[i] := found_id;
        END IF;
    END LOOP;

    -- 6. A conversion: the rate (explicit, or the pair's row if fresh enough), the converted
    --    legs' amount rounded down to the destination's minor units, the pair's spread as
    --    the fee in the source currency.
    IF p_converts IS NOT NULL AND true = ANY (p_converts) THEN
        SELECT s.currency AS src, d.currency AS dst, cd.minor_units AS dst_places, cs.minor_units AS src_places
        INTO pair
        FROM wallets s JOIN currencies cs ON cs.code = s.currency, wallets d JOIN currencies cd ON cd.code = d.currency
        WHERE s.id = p_source AND d.id = p_dest;
        IF pair.src IS NULL THEN
            PERFORM ledger_refuse('not_found', CASE WHEN NOT EXISTS (SELECT 1 FROM wallets WHERE id = p_source)
                                  THEN 'from_wallet_id' ELSE 'to_wallet_id' END,
                                  jsonb_build_object('wallet_id', CASE WHEN NOT EXISTS (
                                      SELECT 1 FROM wallets WHERE id = p_source) THEN p_source ELSE p_dest END));
        END IF;
        dest_cur := pair.dst;
        IF pair.src = pair.dst THEN
            PERFORM ledger_refuse('rate_not_applicable', 'rate', jsonb_build_object('currency', pair.src));
        END IF;
        -- The house sets the price: the pair's row in fx_rates, fresh, always (a capture or an
        -- approval re-quotes). A caller's rate is only a guard: further from the house's than
        -- the pair's tolerance, the movement is refused; within it, the house's rate applies.
        SELECT r.rate, r.spread_bps, r.updated_at, r.tolerance_bps, r.version INTO fee_rule FROM fx_rates r
        WHERE r.base = pair.src AND r.quote = pair.dst;
        IF fee_rule.rate IS NULL THEN
            PERFORM ledger_refuse('currency_mismatch', 'to_wallet_id', jsonb_build_object(
                'wallet_id', p_dest, 'currency', pair.dst, 'other_wallet_id', p_source, 'other_currency', pair.src));
        ELSIF fee_rule.updated_at < now() - make_interval(secs => p_rate_max_age) THEN
            PERFORM ledger_refuse('rate_stale', 'rate', jsonb_build_object(
                'base', pair.src, 'quote', pair.dst, 'updated_at', fee_rule.updated_at, 'max_age', p_rate_max_age));
        ELSIF p_rate IS NOT NULL AND abs(p_rate - fee_rule.rate) * 10000 > fee_rule.rate * fee_rule.tolerance_bps THEN
            PERFORM ledger_refuse('rate_mismatch', 'rate', jsonb_build_object(
                'base', pair.src, 'quote', pair.dst, 'rate', fee_rule.rate::text, 'given', p_rate::text,
                'tolerance_bps', fee_rule.tolerance_bps));
        END IF;
        tx_rate := fee_rule.rate;
        quote_version := fee_rule.version;
        tx_dest_amount := trunc(p_amount * tx_rate, pair.dst_places);
        IF tx_dest_amount <= 0 THEN
            PERFORM ledger_refuse('amount_too_small', 'amount', jsonb_build_object(
                'currency', pair.dst, 'rate', tx_rate::text));
        END IF;
        FOR i IN 1..cardinality(amounts) LOOP
            IF p_converts[i] THEN
                amounts[i] := sign(amounts[i]) * tx_dest_amount;
            END IF;
        END LOOP;
        tx_fee := ledger_round_up(p_amount * fee_rule.spread_bps / 10000, pair.src_places);
        IF tx_fee > 0 THEN
            amounts[p_fee_payer] := amounts[p_fee_payer] - tx_fee;
            SELECT s.id INTO found_id FROM wallets s WHERE s.system_purpose = 'fees' AND s.currency = pair.src;
            ids := ids || found_id;
            amounts := amounts || tx_fee;
            fields := fields || 'amount'::text;
            systems := systems || 'fees'::text;
        END IF;

    -- 7. Else the kind's fee, from the schedule of the payer's currency: the payer's leg pays
    --    it, a leg of the same transaction takes it to that currency's `fees` wallet.
    ELSIF p_fee_payer IS NOT NULL THEN
        SELECT c.currency, f.fixed, f.bps, f.minimum, f.maximum, cu.minor_units,
               (SELECT s.id FROM wallets s WHERE s.system_purpose = 'fees' AND s.currency = c.currency) AS fees_id
        INTO fee_rule
        FROM wallets c JOIN currencies cu ON cu.code = c.currency
        LEFT JOIN fee_schedule f ON f.currency = c.currency AND f.kind = p_kind
        WHERE c.id = ids[p_fee_payer];
        IF fee_rule.fixed IS NOT NULL THEN
            tx_fee := fee_rule.fixed + p_amount * fee_rule.bps / 10000;
            tx_fee := greatest(tx_fee, coalesce(fee_rule.minimum, tx_fee));
            tx_fee := least(tx_fee, coalesce(fee_rule.maximum, tx_fee));
            tx_fee := ledger_round_up(tx_fee, fee_rule.minor_units);
        END IF;
        IF tx_fee > 0 THEN
            amounts[p_fee_payer] := amounts[p_fee_payer] - tx_fee;
            ids := ids || fee_rule.fees_id;
            amounts := amounts || tx_fee;
            fields := fields || 'amount'::text;
            systems := systems || 'fees'::text;
        END IF;
    END IF;

    n := cardinality(amounts);
    cur := array_fill(NULL::text, ARRAY[n]);
    bal := array_fill(NULL::numeric, ARRAY[n]);
    st := array_fill(NULL::text, ARRAY[n]);
    sys := array_fill(NULL::text, ARRAY[n]);
    places := array_fill(NULL::int, ARRAY[n]);
    floor_ := array_fill(NULL::numeric, ARRAY[n]);
    ceiling_ := array_fill(NULL::numeric, ARRAY[n]);
    daily := array_fill(NULL::numeric, ARRAY[n]);
    held_ := array_fill(NULL::numeric, ARRAY[n]);
    after := array_fill(NULL::numeric, ARRAY[n]);

    -- 8. Lock every wallet the legs touch, in ascending id order (no deadlock between
    --    opposite movements). A dry run takes the same locks for the moment it runs.
    FOR w IN
        SELECT wl.id, wl.balance, wl.currency, wl.status, wl.system_purpose, c.minor_units,
               CASE WHEN wl.system_purpose IN ('world', 'fx') THEN NULL ELSE -wl.overdraft_limit END AS floor_,
               wl.max_balance, wl.daily_outflow_limit, wl.held
        FROM wallets wl JOIN currencies c ON c.code = wl.currency
        WHERE wl.id = ANY (ids) ORDER BY wl.id FOR UPDATE OF wl
    LOOP
        FOR i IN 1..n LOOP
            IF ids[i] = w.id THEN
                bal[i] := w.balance; cur[i] := w.currency; st[i] := w.status; sys[i] := w.system_purpose;
                places[i] := w.minor_units; floor_[i] := w.floor_; ceiling_[i] := w.max_balance;
                daily[i] := w.daily_outflow_limit; held_[i] := w.held;
            END IF;
        END LOOP;
    END LOOP;

    -- 9. Every rule, in the order a caller sees them.
    FOR i IN 1..n LOOP
        -- A customer leg names a customer wallet: a system wallet is the ledger's own.
        IF systems[i] IS NULL AND (cur[i] IS NULL OR sys[i] IS NOT NULL) THEN
            PERFORM ledger_refuse('not_found', fields[i], jsonb_build_object('wallet_id', ids[i]));
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        IF cur[i] IS NULL THEN
            RAISE EXCEPTION 'ledger_post: no % system wallet for leg %', systems[i], i;
        END IF;
        IF sys[i] IS NULL AND st[i] <> 'active' THEN
            PERFORM ledger_refuse('wallet_not_active', fields[i],
                                  jsonb_build_object('wallet_id', ids[i], 'status', st[i]));
        END IF;
    END LOOP;
    FOR i IN 1..cardinality(p_likes) LOOP
        IF p_likes[i] IS NOT NULL AND cur[i] <> cur[p_likes[i]] THEN
            PERFORM ledger_refuse('currency_mismatch', fields[i], jsonb_build_object(
                'wallet_id', ids[i], 'currency', cur[i],
                'other_wallet_id', ids[p_likes[i]], 'other_currency', cur[p_likes[i]]));
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        IF round(amounts[i], places[i]) <> amounts[i] THEN
            PERFORM ledger_refuse('invalid_amount', 'amount',
                                  jsonb_build_object('currency', cur[i], 'places', places[i]));
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        after[i] := bal[i] + amounts[i];
        IF amounts[i] < 0 AND floor_[i] IS NOT NULL THEN
            -- What the wallet's unexpired holds reserve (the one being captured aside): its
            -- `held` counts expired holds too until they are marked, so sum the live ones.
            live := 0;
            IF held_[i] > 0 THEN
                SELECT coalesce(sum(t.held_amount), 0) INTO live FROM transactions t
                WHERE t.source_wallet_id = ids[i] AND t.status IN ('pending', 'awaiting_approval')
                  AND t.expires_at > now() AND t.id <> coalesce(p_target, 0);
            END IF;
            IF after[i] - live < floor_[i] THEN
                PERFORM ledger_refuse('insufficient_funds', 'amount', jsonb_build_object(
                    'wallet_id', ids[i], 'currency', cur[i], 'needed', round(-amounts[i], places[i])::text,
                    'fee', round(tx_fee, places[1])::text, 'held', round(live, places[i])::text,
                    'available', round(bal[i] - live - floor_[i], places[i])::text));
            END IF;
        END IF;
        IF amounts[i] > 0 AND after[i] > ceiling_[i] THEN
            PERFORM ledger_refuse('max_balance_exceeded', 'amount', jsonb_build_object(
                'wallet_id', ids[i], 'currency', cur[i], 'max_balance', round(ceiling_[i], places[i])::text,
                'room', round(greatest(ceiling_[i] - bal[i], 0), places[i])::text));
        END IF;
        IF amounts[i] < 0 AND daily[i] IS NOT NULL THEN
            -- Today's (UTC) debits of this wallet, fees included, this one included.
            SELECT coalesce(sum(-h.amount), 0) INTO spent FROM wallet_history h
            WHERE h.wallet_id = ids[i] AND h.amount < 0
              AND h.created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
            IF spent - amounts[i] > daily[i] THEN
                PERFORM ledger_refuse('daily_limit_exceeded', 'amount', jsonb_build_object(
                    'wallet_id', ids[i], 'currency', cur[i], 'limit', round(daily[i], places[i])::text,
                    'left', round(greatest(daily[i] - spent, 0), places[i])::text));
            END IF;
        END IF;
        -- The balance column's ceiling (NUMERIC(20,4)), either way: refused, not overflowed.
        IF abs(after[i]) > 9999999999999999.9999 THEN
            PERFORM ledger_refuse('balance_limit_exceeded', 'amount', jsonb_build_object(
                'wallet_id', ids[i], 'currency', cur[i],
                'limit', trunc(9999999999999999.9999, places[i])::text));
        END IF;
        IF amounts[i] < 0 AND sys[i] IS NULL THEN
            hold_total := hold_total - amounts[i];
        END IF;
    END LOOP;
    -- Legs sum to zero per currency (a catalogue bug otherwise, not a refusal).
    FOR i IN 1..n LOOP
        spent := 0;
        FOR j IN 1..n LOOP
            IF cur[j] = cur[i] THEN spent := spent + amounts[j]; END IF;
        END LOOP;
        IF spent <> 0 THEN
            RAISE EXCEPTION 'ledger_post: % legs do not sum to zero in %', p_kind, cur[i];
        END IF;
    END LOOP;

    -- 10. Four eyes, for every principal whatever its rights: a movement waits for a second
    --     person's approval, its source's amount held meanwhile, when its wallet's movements
    --     of the last 24 hours that no second person approved, this one included, pass the
    --     threshold of its currency (or the default), or when an exchange's converted amount
    --     passes the destination currency's. A wallet's movements are those it pays (it is
    --     the source), or for money from outside (no customer source) those it receives.
    --     Read under the wallet's lock: racing movements of one wallet see each other, so
    --     splitting does not help.
    --     An exchange's converted amount counts toward its destination's inflows likewise.
    --     (One statement in the common case: this runs on every movement.)
    IF p_target IS NULL AND p_approvable THEN
        -- ledger_flows() and ledger_threshold() written out: a SQL function that is not inlined
        -- is planned again at every call, and this runs on every movement (bench/PROFILE.md).
        SELECT coalesce((SELECT sum(f.amount) FROM wallet_flows f
                         WHERE f.wallet_id = coalesce(p_source, p_dest) AND f.inflow = (p_source IS NULL)
                           AND f.hour >= date_trunc('hour', now() - interval '1 day')), 0),
               coalesce((SELECT a.amount FROM approval_thresholds a WHERE a.currency = cur[1]),
                        (SELECT s.default_approval_threshold FROM ledger_settings s), 0)
        INTO counted, threshold;
        FOR i IN 1..n LOOP  -- old open holds: only a wallet holding something has any
            IF ids[i] = p_source AND held_[i] > 0 THEN
                counted := counted + ledger_old_holds(p_source);
            END IF;
        END LOOP;
        IF counted + p_amount > threshold
           OR (dest_cur IS NOT NULL
               AND ledger_flows(p_dest, true) + tx_dest_amount > ledger_threshold(dest_cur)) THEN
            tx_status := 'awaiting_approval';
        END IF;
    END IF;
    IF tx_status = 'posted' AND p_pending AND p_target IS NULL THEN
        tx_status := 'pending';
    END IF;

    tx_currency := cur[1];
    leg_wallets := ids;
    leg_amounts := amounts;
    leg_balances := after;
    leg_currencies := cur;
    IF p_dry_run THEN
        verdict := 'checked';
        RETURN;
    END IF;
    posted_at := now();

    -- 11a. A hold or an approval request: the transaction, its source's reservation, the
    --      audit row; no leg moves until it is captured or approved.
    IF tx_status <> 'posted' THEN
        tx_expires_at := posted_at + make_interval(secs => p_expires_in);
        INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id, reference, created_by,
                                  created_at, fee, reason, status, held_amount, expires_at, maker_scope, rate,
                                  dest_amount, dest_currency, hold_requested, reverses_transaction_id,
                                  fee_refunded, rate_version, maker_issuer)
        VALUES (tx_id, p_kind, p_amount, tx_currency, p_source, p_dest, p_reference, p_actor, posted_at, tx_fee,
                p_reason, tx_status, hold_total, tx_expires_at, p_owner, tx_rate, tx_dest_amount,
                dest_cur, p_pending, p_reverses, p_refund_fee IS NOT NULL, quote_version, p_issuer);
        IF tx_status = 'awaiting_approval' THEN
            first_status := 202;
            UPDATE idempotency_keys SET response_status = 202 WHERE scope = p_scope AND key = p_key;
        END IF;
        UPDATE wallets SET held = held + hold_total, updated_at = posted_at WHERE id = p_source AND hold_total > 0;
        IF tx_status = 'pending' AND p_approvable THEN  -- an unapproved hold counts from now
            PERFORM ledger_count(p_source, false, posted_at, p_amount);
            IF dest_cur IS NOT NULL THEN
                PERFORM ledger_count(p_dest, true, posted_at, tx_dest_amount);
            END IF;
        END IF;
        INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
        VALUES (p_actor, p_kind || '.' || tx_status, 'transaction', tx_id::text, p_ip,
                json_build_object('amount', round(p_amount, places[1])::text, 'currency', tx_currency,
                                  'held', round(hold_total, places[1])::text, 'expires_at', tx_expires_at,
                                  'source_wallet_id', p_source, 'dest_wallet_id', p_dest),
                posted_at);
        verdict := 'posted';
        leg_balances := bal;
        RETURN;
    END IF;

    -- 11b. Post: the transaction (new, or the hold a capture or an approval posts, its
    --      reservation released), the original's reversed amount, the balances, the legs
    --      with balance_after, the audit row. One statement (the data-modifying CTEs run as
    --      one): each statement a plpgsql function runs costs executor set-up.
    -- What four eyes count: a new movement from now; a captured unapproved hold moves from the
    -- hour it was made to now, for what was captured.
    counts := p_approvable AND p_target IS NULL;
    IF p_approvable AND p_resolve = 'capture' THEN
        counts := hold.approved_by IS NULL;
        IF counts THEN
            PERFORM ledger_count(p_source, false, hold.created_at, -hold.amount);
            IF hold.dest_amount IS NOT NULL THEN
                PERFORM ledger_count(p_dest, true, hold.created_at, -hold.dest_amount);
            END IF;
        END IF;
    END IF;
    IF p_target IS NOT NULL THEN  -- its own statement: a post carries no capture machinery
        UPDATE transactions SET status = 'posted', amount = p_amount, fee = tx_fee, resolved_at = posted_at,
                                resolved_by = p_actor, rate = tx_rate, dest_amount = tx_dest_amount,
                                rate_version = quote_version,
                                approved_by = CASE WHEN p_resolve = 'approve' THEN p_actor ELSE approved_by END,
                                approved_at = CASE WHEN p_resolve = 'approve' THEN posted_at ELSE approved_at END
        WHERE id = p_target;
    END IF;
    WITH tx AS (
        INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id,
                                  reference, created_by, created_at, fee, reverses_transaction_id, reason,
                                  rate, dest_amount, dest_currency, rate_version, maker_scope)
        SELECT tx_id, p_kind, p_amount, tx_currency, p_source, p_dest, p_reference, p_actor, posted_at,
               tx_fee, p_reverses, p_reason, tx_rate, tx_dest_amount, dest_cur, quote_version, p_owner
        WHERE p_target IS NULL
    ), reversed AS (
        UPDATE transactions t SET reversed_amount = t.reversed_amount + p_amount,
                                  fee_refunded = t.fee_refunded OR p_refund_fee IS NOT NULL
        WHERE t.id = p_reverses
    ), balances AS (
        UPDATE wallets wl SET balance = u.after, updated_at = posted_at,
                              held = wl.held - CASE WHEN wl.id = p_source THEN release ELSE 0 END
        FROM unnest(ids, after) u(id, after) WHERE wl.id = u.id
    ), legs AS (
        INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after, created_at)
        SELECT u.id, tx_id, u.amount, u.after, posted_at
        FROM unnest(ids, amounts, after) WITH ORDINALITY u(id, amount, after, k) ORDER BY u.k
    ), flows AS (  -- what four eyes count (ledger_count(), inline: this is every movement's path)
        INSERT INTO wallet_flows AS f (wallet_id, inflow, hour, amount)
        SELECT u.wallet_id, u.inflow, date_trunc('hour', posted_at), u.amount
        FROM (VALUES (coalesce(p_source, p_dest), p_source IS NULL, p_amount),
                     (p_dest, true, CASE WHEN dest_cur IS NOT NULL THEN tx_dest_amount END)) u(wallet_id, inflow, amount)
        WHERE counts AND u.amount IS NOT NULL
        ON CONFLICT (wallet_id, inflow, hour) DO UPDATE SET amount = f.amount + EXCLUDED.amount
    )
    INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
    VALUES (p_actor, coalesce('transaction.' || p_resolve, p_kind), 'transaction', tx_id::text, p_ip,
            json_build_object('kind', p_kind, 'amount', round(p_amount, places[1])::text, 'currency', tx_currency,
                              'fee', round(tx_fee, places[1])::text,
                              'source_wallet_id', p_source, 'dest_wallet_id', p_dest,
                              'reverses_transaction_id', p_reverses, 'reason', p_reason,
                              'rate', tx_rate::text, 'dest_amount', tx_dest_amount::text,
                              'released', CASE WHEN p_target IS NOT NULL THEN release::text END),
            posted_at);
    verdict := 'posted';
END $$
