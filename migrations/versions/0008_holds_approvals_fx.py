"""Holds (pending transfers), four-eyes approval, cross-currency transfers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 14:00:00

- transactions: `status` (posted, pending, awaiting_approval, voided, expired, rejected);
  a hold or an approval request is a transaction row with no legs until it is captured or
  approved, reserving `held_amount` of its source until `expires_at`; who made it
  (`maker_scope`), who resolved it, when and why; for an exchange, `rate`, `dest_amount`,
  `dest_currency`.
- wallets: `held`, the sum of its unresolved holds (expired ones too, until `flask
  expire-holds` marks them): when it is above zero the engine sums the live holds under the
  wallet's lock, so an expired hold never counts.
- `approval_thresholds` per currency; `fx_rates` per currency pair with a spread; `fx`
  system wallets (one per currency, like `world` allowed below zero: the exchange desk).
- idempotency_keys: `operation`, so a hold's creation and its resolution each claim a key
  naming the same transaction.
- ledger_post() learns all of it: the same checks for a hold, a capture, an approval and a
  conversion, under the same locks (transaction rows first, then wallets ascending).
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD_SIGNATURE = (
    "text, text, text, text, numeric, bigint, bigint, text, text, text, "
    "bigint[], text[], int[], numeric[], text[], int, bigint, numeric, text, boolean"
)
SIGNATURE = OLD_SIGNATURE + ", boolean[], numeric, int, boolean, int, boolean, boolean, text, bigint"

LEDGER_POST = r"""
CREATE FUNCTION ledger_post(
    p_scope text, p_key text, p_fp text, p_kind text, p_amount numeric,
    p_source bigint, p_dest bigint, p_reference text, p_actor text, p_ip text,
    p_wallets bigint[], p_systems text[], p_likes int[], p_amounts numeric[], p_fields text[],
    p_fee_payer int, p_reverses bigint, p_refund_fee numeric, p_reason text, p_dry_run boolean,
    p_converts boolean[],   -- legs whose amount is the converted (destination) amount
    p_rate numeric,         -- a conversion's explicit rate (else fx_rates)
    p_rate_max_age int,     -- seconds: an fx_rates row older than this is refused
    p_pending boolean,      -- create a hold instead of posting
    p_expires_in int,       -- seconds: a hold's or an approval request's life
    p_can_approve boolean,  -- the actor may post above the approval threshold
    p_approvable boolean,   -- this kind is subject to the threshold
    p_resolve text,         -- capture | approve | void | reject | expire: p_target, a hold
    p_target bigint,
    OUT verdict text, OUT tx_id bigint, OUT posted_at timestamptz, OUT tx_currency text,
    OUT leg_wallets bigint[], OUT leg_amounts numeric[], OUT leg_balances numeric[], OUT tx_fee numeric,
    OUT leg_currencies text[], OUT tx_status text, OUT tx_rate numeric, OUT tx_dest_amount numeric,
    OUT tx_expires_at timestamptz,
    OUT first_status int)   -- the HTTP status the first answer had: 201, 202 (awaiting approval), 200 (resolution)
LANGUAGE plpgsql AS $$
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
    threshold numeric;
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
               t.maker_scope, t.rate, t.currency, t.hold_requested
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
            IF hold.maker_scope = p_scope THEN
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
            UPDATE transactions SET status = 'pending' WHERE id = p_target;
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

    -- 3. A movement touches each wallet once.
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
        SELECT t.amount, t.reversed_amount, t.reverses_transaction_id, t.fee, t.fee_refunded, t.status
        INTO original FROM transactions t WHERE t.id = p_reverses FOR UPDATE;
        IF NOT FOUND THEN
            PERFORM ledger_refuse('not_found', 'transaction_id', jsonb_build_object('transaction_id', p_reverses));
        END IF;
        IF original.reverses_transaction_id IS NOT NULL OR original.status <> 'posted' THEN
            PERFORM ledger_refuse('not_reversible', 'transaction_id', jsonb_build_object(
                'transaction_id', p_reverses, 'status', original.status));
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
        SELECT r.rate, r.spread_bps, r.updated_at INTO fee_rule FROM fx_rates r
        WHERE r.base = pair.src AND r.quote = pair.dst;
        IF p_rate IS NOT NULL THEN
            tx_rate := p_rate;
        ELSIF fee_rule.rate IS NULL THEN
            PERFORM ledger_refuse('currency_mismatch', 'to_wallet_id', jsonb_build_object(
                'wallet_id', p_dest, 'currency', pair.dst, 'other_wallet_id', p_source, 'other_currency', pair.src));
        ELSIF fee_rule.updated_at < now() - make_interval(secs => p_rate_max_age) THEN
            PERFORM ledger_refuse('rate_stale', 'rate', jsonb_build_object(
                'base', pair.src, 'quote', pair.dst, 'updated_at', fee_rule.updated_at, 'max_age', p_rate_max_age));
        ELSE
            tx_rate := fee_rule.rate;
        END IF;
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
        tx_fee := round(p_amount * coalesce(fee_rule.spread_bps, 0) / 10000, pair.src_places);
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
            tx_fee := round(tx_fee, fee_rule.minor_units);  -- half up, to minor units
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

    -- 10. Four eyes: above its currency's threshold, a movement by an actor who may not
    --     approve waits for another's approval, its source's amount held meanwhile.
    IF p_target IS NULL AND p_approvable AND NOT p_can_approve THEN
        SELECT a.amount INTO threshold FROM approval_thresholds a WHERE a.currency = cur[1];
        IF p_amount > threshold THEN
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
                                  dest_amount, dest_currency, hold_requested)
        VALUES (tx_id, p_kind, p_amount, tx_currency, p_source, p_dest, p_reference, p_actor, posted_at, tx_fee,
                p_reason, tx_status, hold_total, tx_expires_at, p_scope, tx_rate, tx_dest_amount,
                dest_cur, p_pending);
        IF tx_status = 'awaiting_approval' THEN
            first_status := 202;
            UPDATE idempotency_keys SET response_status = 202 WHERE scope = p_scope AND key = p_key;
        END IF;
        UPDATE wallets SET held = held + hold_total, updated_at = posted_at WHERE id = p_source AND hold_total > 0;
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
    IF p_target IS NOT NULL THEN  -- its own statement: a post carries no capture machinery
        UPDATE transactions SET status = 'posted', amount = p_amount, fee = tx_fee, resolved_at = posted_at,
                                resolved_by = p_actor, dest_amount = tx_dest_amount
        WHERE id = p_target;
    END IF;
    WITH tx AS (
        INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id,
                                  reference, created_by, created_at, fee, reverses_transaction_id, reason,
                                  rate, dest_amount, dest_currency)
        SELECT tx_id, p_kind, p_amount, tx_currency, p_source, p_dest, p_reference, p_actor, posted_at,
               tx_fee, p_reverses, p_reason, tx_rate, tx_dest_amount, dest_cur
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
"""

STATUSES = ("posted", "pending", "awaiting_approval", "voided", "expired", "rejected")


def upgrade():
    op.execute(f"""
        ALTER TABLE transactions
            ADD COLUMN status varchar(20) NOT NULL DEFAULT 'posted'
                CONSTRAINT ck_transactions_status_known CHECK (status IN {STATUSES}),
            ADD COLUMN held_amount numeric(20,4)
                CONSTRAINT ck_transactions_held_amount_non_negative CHECK (held_amount >= 0),
            ADD COLUMN expires_at timestamptz,
            ADD COLUMN maker_scope varchar(100),
            ADD COLUMN resolved_at timestamptz,
            ADD COLUMN resolved_by varchar(320),
            ADD COLUMN resolve_reason varchar(500),
            ADD COLUMN hold_requested boolean NOT NULL DEFAULT false,
            ADD COLUMN rate numeric(24,12) CONSTRAINT ck_transactions_rate_positive CHECK (rate > 0),
            ADD COLUMN dest_amount numeric(20,4)
                CONSTRAINT ck_transactions_dest_amount_positive CHECK (dest_amount > 0),
            ADD COLUMN dest_currency varchar(3) CONSTRAINT fk_transactions_dest_currency_currencies
                REFERENCES currencies (code),
            ADD CONSTRAINT ck_transactions_hold_complete
                CHECK (status = 'posted' OR (held_amount IS NOT NULL AND expires_at IS NOT NULL)),
            ADD CONSTRAINT ck_transactions_conversion_complete
                CHECK ((rate IS NULL) = (dest_currency IS NULL) AND (rate IS NULL) = (dest_amount IS NULL))""")
    # The holds a wallet's checks sum, and those `flask expire-holds` looks for.
    op.execute(
        "CREATE INDEX ix_transactions_open_holds ON transactions (source_wallet_id, expires_at) "
        "WHERE status IN ('pending', 'awaiting_approval')"
    )
    op.execute(
        "CREATE INDEX ix_transactions_open_by_expiry ON transactions (expires_at) "
        "WHERE status IN ('pending', 'awaiting_approval')"
    )
    op.execute(
        "ALTER TABLE wallets ADD COLUMN held numeric(20,4) NOT NULL DEFAULT 0 "
        "CONSTRAINT ck_wallets_held_non_negative CHECK (held >= 0)"
    )
    op.execute("ALTER TABLE wallets DROP CONSTRAINT ck_wallets_balance_above_floor")
    op.execute(
        "ALTER TABLE wallets ADD CONSTRAINT ck_wallets_balance_above_floor "
        "CHECK (balance >= -overdraft_limit OR coalesce(system_purpose IN ('world', 'fx'), false))"
    )
    op.execute("""
        INSERT INTO wallets (owner_name, currency, system_purpose)
        SELECT 'Fx (' || c.code || ')', c.code, 'fx' FROM currencies c ORDER BY c.code""")
    op.execute("ALTER TABLE idempotency_keys ADD COLUMN operation varchar(10) NOT NULL DEFAULT 'post'")
    op.execute("""
        CREATE TABLE approval_thresholds (
            currency varchar(3) PRIMARY KEY CONSTRAINT fk_approval_thresholds_currency_currencies
                REFERENCES currencies (code),
            amount numeric(20,4) NOT NULL CONSTRAINT ck_approval_thresholds_amount_non_negative CHECK (amount >= 0),
            updated_by varchar(320),
            updated_at timestamptz NOT NULL DEFAULT now())""")
    op.execute("""
        CREATE TABLE fx_rates (
            base varchar(3) NOT NULL CONSTRAINT fk_fx_rates_base_currencies REFERENCES currencies (code),
            quote varchar(3) NOT NULL CONSTRAINT fk_fx_rates_quote_currencies REFERENCES currencies (code),
            rate numeric(24,12) NOT NULL CONSTRAINT ck_fx_rates_rate_positive CHECK (rate > 0),
            spread_bps integer NOT NULL DEFAULT 0 CONSTRAINT ck_fx_rates_spread_range CHECK (spread_bps BETWEEN 0 AND 10000),
            updated_by varchar(320),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_fx_rates PRIMARY KEY (base, quote),
            CONSTRAINT ck_fx_rates_two_currencies CHECK (base <> quote))""")
    op.execute("ALTER TABLE users DROP CONSTRAINT ck_users_role_known")
    op.execute(
        "ALTER TABLE users ADD CONSTRAINT ck_users_role_known "
        "CHECK (role IN ('viewer', 'support', 'finance', 'approver', 'admin'))"
    )
    op.execute(f"DROP FUNCTION ledger_post({OLD_SIGNATURE})")
    op.execute(LEDGER_POST)
    # Generic plans for the function's statements (see 0007 and bench/PROFILE.md).
    op.execute(f"ALTER FUNCTION ledger_post({SIGNATURE}) SET plan_cache_mode = force_generic_plan")


def downgrade():
    raise NotImplementedError("restore a backup instead")
