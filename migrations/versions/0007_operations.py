"""Reversals, withdrawals, fees, per-wallet limits, status with a reason

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 11:40:00

- `fee_schedule`: per currency and kind, a fixed part, basis points, an optional minimum
  and maximum.
- wallets: `overdraft_limit` (the floor is minus it), `max_balance`, `daily_outflow_limit`,
  and who set the status, when and why.
- transactions: `fee`, `reverses_transaction_id`, `reversed_amount` (never above `amount`),
  `fee_refunded`, `reason`.
- ledger_post() learns the kind's fee (a leg of the same transaction to the `fees` wallet,
  paid by one leg), reversals (the original is locked, never reversed beyond its amount,
  and a reversal is not reversible), and the limits, all checked under the locks.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LEDGER_POST = r"""
CREATE FUNCTION ledger_post(
    p_scope text, p_key text, p_fp text, p_kind text, p_amount numeric,
    p_source bigint, p_dest bigint, p_reference text, p_actor text, p_ip text,
    p_wallets bigint[], p_systems text[], p_likes int[], p_amounts numeric[], p_fields text[],
    p_fee_payer int, p_reverses bigint, p_refund_fee numeric, p_reason text, p_dry_run boolean,
    OUT verdict text, OUT tx_id bigint, OUT posted_at timestamptz, OUT tx_currency text,
    OUT leg_wallets bigint[], OUT leg_amounts numeric[], OUT leg_balances numeric[], OUT tx_fee numeric)
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
    after numeric[];
    claimed record;
    original record;
    w record;
    fee_rule record;
    found_id bigint;
    payer_currency text;
    spent numeric;
    i int;
    j int;
BEGIN
    tx_fee := 0;
    -- 1. Claim the key first: a concurrent twin blocks on the unique index until we end.
    IF NOT p_dry_run THEN
        tx_id := nextval('transactions_id_seq');
        INSERT INTO idempotency_keys (scope, key, fingerprint, transaction_id, response_status, created_at)
        VALUES (p_scope, p_key, p_fp, tx_id, 201, now())
        ON CONFLICT (scope, key) DO NOTHING;
        IF NOT FOUND THEN
            SELECT fingerprint, transaction_id INTO claimed
            FROM idempotency_keys WHERE scope = p_scope AND key = p_key;
            IF claimed.fingerprint <> p_fp THEN
                PERFORM ledger_refuse('idempotency_key_reused', 'idempotency_key', '{}');
            END IF;
            verdict := 'replay';
            tx_id := claimed.transaction_id;
            RETURN;
        END IF;
    END IF;

    -- 2. A movement touches each wallet once.
    FOR i IN 1..cardinality(amounts) LOOP
        FOR j IN 1..i - 1 LOOP
            IF ids[i] = ids[j] THEN
                PERFORM ledger_refuse('same_wallet', fields[i], jsonb_build_object('wallet_id', ids[i]));
            END IF;
        END LOOP;
    END LOOP;

    -- 3. A reversal locks its original first (every reversal does, in this order), so two
    --    racing reversals of one transaction see each other's reversed_amount.
    IF p_reverses IS NOT NULL THEN
        SELECT t.amount, t.reversed_amount, t.reverses_transaction_id, t.fee, t.fee_refunded
        INTO original FROM transactions t WHERE t.id = p_reverses FOR UPDATE;
        IF NOT FOUND THEN
            PERFORM ledger_refuse('not_found', 'transaction_id', jsonb_build_object('transaction_id', p_reverses));
        END IF;
        IF original.reverses_transaction_id IS NOT NULL THEN
            PERFORM ledger_refuse('not_reversible', 'transaction_id', jsonb_build_object('transaction_id', p_reverses));
        END IF;
        IF p_amount > original.amount - original.reversed_amount THEN
            PERFORM ledger_refuse('reversal_exceeds_original', 'amount', jsonb_build_object(
                'transaction_id', p_reverses, 'remaining', (original.amount - original.reversed_amount)::text));
        END IF;
        IF p_refund_fee IS NOT NULL AND (original.fee_refunded OR p_refund_fee <> original.fee) THEN
            PERFORM ledger_refuse('fee_already_refunded', 'refund_fee', jsonb_build_object('transaction_id', p_reverses));
        END IF;
    END IF;

    -- 4. System legs resolve to the wallet of their purpose in the currency of the leg they
    --    follow (a wallet's currency never changes: this read needs no lock).
    FOR i IN 1..cardinality(amounts) LOOP
        IF systems[i] IS NOT NULL THEN
            SELECT s.id INTO found_id FROM wallets s
            WHERE s.system_purpose = systems[i]
              AND s.currency = (SELECT c.currency FROM wallets c WHERE c.id = ids[p_likes[i]]);
            ids[i] := found_id;
        END IF;
    END LOOP;

    -- 5. The kind's fee, from the schedule of the payer's currency: the payer's leg pays it,
    --    a leg of the same transaction takes it to that currency's `fees` wallet.
    IF p_fee_payer IS NOT NULL THEN
        SELECT c.currency, f.fixed, f.bps, f.minimum, f.maximum, cu.minor_units INTO fee_rule
        FROM wallets c JOIN currencies cu ON cu.code = c.currency
        LEFT JOIN fee_schedule f ON f.currency = c.currency AND f.kind = p_kind
        WHERE c.id = ids[p_fee_payer];
        payer_currency := fee_rule.currency;
        IF fee_rule.fixed IS NOT NULL THEN
            tx_fee := fee_rule.fixed + p_amount * fee_rule.bps / 10000;
            tx_fee := greatest(tx_fee, coalesce(fee_rule.minimum, tx_fee));
            tx_fee := least(tx_fee, coalesce(fee_rule.maximum, tx_fee));
            tx_fee := round(tx_fee, fee_rule.minor_units);  -- half up, to minor units
        END IF;
        IF tx_fee > 0 THEN
            amounts[p_fee_payer] := amounts[p_fee_payer] - tx_fee;
            SELECT s.id INTO found_id FROM wallets s WHERE s.system_purpose = 'fees' AND s.currency = payer_currency;
            ids := ids || found_id;
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
    after := array_fill(NULL::numeric, ARRAY[n]);

    -- 6. Lock every wallet the legs touch, in ascending id order (no deadlock between
    --    opposite movements). A dry run takes the same locks for the moment it runs.
    FOR w IN
        SELECT wl.id, wl.balance, wl.currency, wl.status, wl.system_purpose, c.minor_units,
               CASE WHEN wl.system_purpose = 'world' THEN NULL ELSE -wl.overdraft_limit END AS floor_,
               wl.max_balance, wl.daily_outflow_limit
        FROM wallets wl JOIN currencies c ON c.code = wl.currency
        WHERE wl.id = ANY (ids) ORDER BY wl.id FOR UPDATE OF wl
    LOOP
        FOR i IN 1..n LOOP
            IF ids[i] = w.id THEN
                bal[i] := w.balance; cur[i] := w.currency; st[i] := w.status; sys[i] := w.system_purpose;
                places[i] := w.minor_units; floor_[i] := w.floor_; ceiling_[i] := w.max_balance;
                daily[i] := w.daily_outflow_limit;
            END IF;
        END LOOP;
    END LOOP;

    -- 7. Every rule, in the order a caller sees them.
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
        IF amounts[i] < 0 AND after[i] < floor_[i] THEN
            PERFORM ledger_refuse('insufficient_funds', 'amount', jsonb_build_object(
                'wallet_id', ids[i], 'currency', cur[i], 'needed', round(-amounts[i], places[i])::text,
                'fee', round(tx_fee, places[i])::text,
                'available', round(bal[i] - floor_[i], places[i])::text));
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

    tx_currency := cur[1];
    leg_wallets := ids;
    leg_amounts := amounts;
    leg_balances := after;
    IF p_dry_run THEN
        verdict := 'checked';
        RETURN;
    END IF;

    -- 8. Write: the transaction, the original's reversed amount, the balances, the legs
    --    with balance_after, the audit row.
    -- One statement (the data-modifying CTEs run as one): each statement a plpgsql function
    -- runs costs executor set-up, and these writes run for every movement.
    posted_at := now();
    WITH tx AS (
        INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id,
                                  reference, created_by, created_at, fee, reverses_transaction_id, reason)
        VALUES (tx_id, p_kind, p_amount, tx_currency, p_source, p_dest, p_reference, p_actor, posted_at,
                tx_fee, p_reverses, p_reason)
    ), reversed AS (
        UPDATE transactions t SET reversed_amount = t.reversed_amount + p_amount,
                                  fee_refunded = t.fee_refunded OR p_refund_fee IS NOT NULL
        WHERE t.id = p_reverses
    ), balances AS (
        UPDATE wallets wl SET balance = u.after, updated_at = posted_at
        FROM unnest(ids, after) u(id, after) WHERE wl.id = u.id
    ), legs AS (
        INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after, created_at)
        SELECT u.id, tx_id, u.amount, u.after, posted_at
        FROM unnest(ids, amounts, after) WITH ORDINALITY u(id, amount, after, k) ORDER BY u.k
    )
    INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
    VALUES (p_actor, p_kind, 'transaction', tx_id::text, p_ip,
            json_build_object('amount', round(p_amount, places[1])::text, 'currency', tx_currency,
                              'fee', round(tx_fee, places[1])::text,
                              'source_wallet_id', p_source, 'dest_wallet_id', p_dest,
                              'reverses_transaction_id', p_reverses, 'reason', p_reason),
            posted_at);
    verdict := 'posted';
END $$
"""


def upgrade():
    op.execute("""
        CREATE TABLE fee_schedule (
            currency varchar(3) NOT NULL CONSTRAINT fk_fee_schedule_currency_currencies
                REFERENCES currencies (code),
            kind varchar(20) NOT NULL,
            fixed numeric(20,4) NOT NULL DEFAULT 0 CONSTRAINT ck_fee_schedule_fixed_non_negative CHECK (fixed >= 0),
            bps integer NOT NULL DEFAULT 0 CONSTRAINT ck_fee_schedule_bps_range CHECK (bps BETWEEN 0 AND 10000),
            minimum numeric(20,4) CONSTRAINT ck_fee_schedule_minimum_non_negative CHECK (minimum >= 0),
            maximum numeric(20,4) CONSTRAINT ck_fee_schedule_maximum_non_negative CHECK (maximum >= 0),
            updated_by varchar(320),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_fee_schedule PRIMARY KEY (currency, kind),
            CONSTRAINT ck_fee_schedule_minimum_below_maximum
                CHECK (minimum IS NULL OR maximum IS NULL OR minimum <= maximum))""")
    op.execute("""
        ALTER TABLE wallets
            ADD COLUMN overdraft_limit numeric(20,4) NOT NULL DEFAULT 0
                CONSTRAINT ck_wallets_overdraft_limit_non_negative CHECK (overdraft_limit >= 0),
            ADD COLUMN max_balance numeric(20,4)
                CONSTRAINT ck_wallets_max_balance_non_negative CHECK (max_balance >= 0),
            ADD COLUMN daily_outflow_limit numeric(20,4)
                CONSTRAINT ck_wallets_daily_outflow_limit_non_negative CHECK (daily_outflow_limit >= 0),
            ADD COLUMN status_reason varchar(500),
            ADD COLUMN status_changed_by varchar(320),
            ADD COLUMN status_changed_at timestamptz""")
    op.execute("ALTER TABLE wallets DROP CONSTRAINT ck_wallets_balance_above_floor")
    op.execute(
        "ALTER TABLE wallets ADD CONSTRAINT ck_wallets_balance_above_floor "
        "CHECK (balance >= -overdraft_limit OR system_purpose IS NOT DISTINCT FROM 'world')"
    )
    op.execute(
        "ALTER TABLE wallets ADD CONSTRAINT ck_wallets_balance_below_max "
        "CHECK (max_balance IS NULL OR balance <= max_balance)"
    )
    op.execute("""
        ALTER TABLE transactions
            ADD COLUMN fee numeric(20,4) NOT NULL DEFAULT 0 CONSTRAINT ck_transactions_fee_non_negative CHECK (fee >= 0),
            ADD COLUMN reverses_transaction_id bigint
                CONSTRAINT fk_transactions_reverses_transaction_id_transactions REFERENCES transactions (id),
            ADD COLUMN reversed_amount numeric(20,4) NOT NULL DEFAULT 0,
            ADD COLUMN fee_refunded boolean NOT NULL DEFAULT false,
            ADD COLUMN reason varchar(500),
            ADD CONSTRAINT ck_transactions_reversed_within_amount
                CHECK (reversed_amount >= 0 AND reversed_amount <= amount)""")
    op.execute("CREATE INDEX ix_transactions_reverses_transaction_id ON transactions (reverses_transaction_id)")
    op.execute(
        "DROP FUNCTION ledger_post(text, text, text, text, numeric, bigint, bigint, text, text, text, "
        "bigint[], text[], int[], numeric[], text[], boolean)"
    )
    op.execute(LEDGER_POST)
    # Generic plans for the function's statements: with the default (auto), PostgreSQL kept
    # planning them anew per call, a fifth of the function's CPU (bench/PROFILE.md).
    op.execute(
        "ALTER FUNCTION ledger_post(text, text, text, text, numeric, bigint, bigint, text, text, text, "
        "bigint[], text[], int[], numeric[], text[], int, bigint, numeric, text, boolean) "
        "SET plan_cache_mode = force_generic_plan"
    )


def downgrade():
    raise NotImplementedError("restore a backup instead")
