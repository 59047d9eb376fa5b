"""One ledger engine: system wallets, double-entry legs, ledger_post()

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 11:30:00

- `currencies` holds each currency's minor units; wallets reference it.
- System wallets live in `wallets`, one per purpose and currency (`world`: money entering
  or leaving the ledger, the only wallet allowed below zero; `fees`).
- Every existing fund gets its world leg, with a correct balance_after chain, so every
  transaction's legs sum to zero per currency.
- ledger_post() is the one write path (docs/DESIGN.md, "The write protocol"): claim the
  idempotency key, lock the legs' wallets in ascending id order, check every rule, write the
  transaction, the legs with balance_after and the audit row, in one round trip. With
  p_dry_run it checks the same rules and returns the balances after, writing nothing.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen here as of this revision; tests check that money.MINOR_UNITS agrees with the table.
CURRENCIES = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KWD": 3, "BHD": 3}
SYSTEM_PURPOSES = ("world", "fees")

LEDGER_POST = r"""
CREATE FUNCTION ledger_post(
    p_scope text, p_key text, p_fp text, p_kind text, p_amount numeric,
    p_source bigint, p_dest bigint, p_reference text, p_actor text, p_ip text,
    p_wallets bigint[], p_systems text[], p_likes int[], p_amounts numeric[], p_fields text[],
    p_dry_run boolean,
    OUT verdict text, OUT tx_id bigint, OUT posted_at timestamptz, OUT tx_currency text,
    OUT leg_wallets bigint[], OUT leg_balances numeric[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    n int := cardinality(p_amounts);
    ids bigint[] := p_wallets;
    cur text[] := array_fill(NULL::text, ARRAY[n]);
    bal numeric[] := array_fill(NULL::numeric, ARRAY[n]);
    st text[] := array_fill(NULL::text, ARRAY[n]);
    sys text[] := array_fill(NULL::text, ARRAY[n]);
    places int[] := array_fill(NULL::int, ARRAY[n]);
    after numeric[] := array_fill(NULL::numeric, ARRAY[n]);
    claimed record;
    w record;
    found_id bigint;
    i int;
    j int;
BEGIN
    -- 1. Claim the key first: a concurrent twin blocks on the unique index until we end.
    IF NOT p_dry_run THEN
        tx_id := nextval(pg_get_serial_sequence('transactions', 'id'));
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
    FOR i IN 1..n LOOP
        FOR j IN 1..i - 1 LOOP
            IF ids[i] = ids[j] THEN
                PERFORM ledger_refuse('same_wallet', p_fields[i], jsonb_build_object('wallet_id', ids[i]));
            END IF;
        END LOOP;
    END LOOP;

    -- 3. A system leg is the wallet of its purpose in the currency of the leg it follows
    --    (a wallet's currency never changes, so reading it before the lock is safe).
    FOR i IN 1..n LOOP
        IF p_systems[i] IS NOT NULL THEN
            SELECT s.id INTO found_id FROM wallets s
            WHERE s.system_purpose = p_systems[i]
              AND s.currency = (SELECT c.currency FROM wallets c WHERE c.id = ids[p_likes[i]]);
            ids[i] := found_id;
        END IF;
    END LOOP;

    -- 4. Lock every wallet the legs touch, in ascending id order (no deadlock between
    --    opposite movements). A dry run takes the same locks for the moment it runs.
    FOR w IN
        SELECT wl.id, wl.balance, wl.currency, wl.status, wl.system_purpose, c.minor_units
        FROM wallets wl JOIN currencies c ON c.code = wl.currency
        WHERE wl.id = ANY (ids) ORDER BY wl.id FOR UPDATE OF wl
    LOOP
        FOR i IN 1..n LOOP
            IF ids[i] = w.id THEN
                bal[i] := w.balance; cur[i] := w.currency; st[i] := w.status;
                sys[i] := w.system_purpose; places[i] := w.minor_units;
            END IF;
        END LOOP;
    END LOOP;

    -- 5. Every rule, in the order a caller sees them.
    FOR i IN 1..n LOOP
        -- A customer leg names a customer wallet: a system wallet is the ledger's own.
        IF p_systems[i] IS NULL AND (cur[i] IS NULL OR sys[i] IS NOT NULL) THEN
            PERFORM ledger_refuse('not_found', p_fields[i], jsonb_build_object('wallet_id', ids[i]));
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        IF cur[i] IS NULL THEN
            RAISE EXCEPTION 'ledger_post: no % system wallet for leg %', p_systems[i], i;
        END IF;
        IF sys[i] IS NULL AND st[i] <> 'active' THEN
            PERFORM ledger_refuse('wallet_not_active', p_fields[i],
                                  jsonb_build_object('wallet_id', ids[i], 'status', st[i]));
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        IF p_likes[i] IS NOT NULL AND cur[i] <> cur[p_likes[i]] THEN
            PERFORM ledger_refuse('currency_mismatch', p_fields[i], jsonb_build_object(
                'wallet_id', ids[i], 'currency', cur[i],
                'other_wallet_id', ids[p_likes[i]], 'other_currency', cur[p_likes[i]]));
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        IF round(p_amounts[i], places[i]) <> p_amounts[i] THEN
            PERFORM ledger_refuse('invalid_amount', 'amount',
                                  jsonb_build_object('currency', cur[i], 'places', places[i]));
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        after[i] := bal[i] + p_amounts[i];
        -- The floor: zero for every wallet but `world`.
        IF after[i] < 0 AND sys[i] IS DISTINCT FROM 'world' THEN
            PERFORM ledger_refuse('insufficient_funds', 'amount', jsonb_build_object(
                'wallet_id', ids[i], 'currency', cur[i], 'available', round(bal[i], places[i])::text));
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        -- The balance column's ceiling (NUMERIC(20,4)), either way: refused, not overflowed.
        IF abs(after[i]) > 9999999999999999.9999 THEN
            PERFORM ledger_refuse('balance_limit_exceeded', 'amount', jsonb_build_object(
                'wallet_id', ids[i], 'currency', cur[i],
                'limit', trunc(9999999999999999.9999, places[i])::text));
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM unnest(cur, p_amounts) u(c, a) GROUP BY u.c HAVING sum(u.a) <> 0) THEN
        RAISE EXCEPTION 'ledger_post: % legs do not sum to zero per currency', p_kind;
    END IF;

    tx_currency := cur[1];
    leg_wallets := ids;
    leg_balances := after;
    IF p_dry_run THEN
        verdict := 'checked';
        RETURN;
    END IF;

    -- 6. Write: the transaction, the balances, the legs with balance_after, the audit row.
    posted_at := now();
    INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id,
                              reference, created_by, created_at)
    VALUES (tx_id, p_kind, p_amount, tx_currency, p_source, p_dest, p_reference, p_actor, posted_at);
    UPDATE wallets wl SET balance = u.after, updated_at = posted_at
    FROM unnest(ids, after) u(id, after) WHERE wl.id = u.id;
    INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after, created_at)
    SELECT u.id, tx_id, u.amount, u.after, posted_at
    FROM unnest(ids, p_amounts, after) WITH ORDINALITY u(id, amount, after, n) ORDER BY u.n;
    INSERT INTO audit_log (actor, action, object_type, object_id, ip, details, created_at)
    VALUES (p_actor, p_kind, 'transaction', tx_id::text, p_ip,
            json_build_object('amount', round(p_amount, places[1])::text, 'currency', tx_currency,
                              'source_wallet_id', p_source, 'dest_wallet_id', p_dest),
            posted_at);
    verdict := 'posted';
END $$
"""

LEDGER_REFUSE = """
CREATE FUNCTION ledger_refuse(code text, field text, detail jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- SQLSTATE WA001: a broken rule; the statement, and so the key's claim, rolls back.
    RAISE EXCEPTION USING ERRCODE = 'WA001', MESSAGE = code,
        DETAIL = (detail || jsonb_build_object('field', field))::text;
END $$
"""


def upgrade():
    op.execute(
        "CREATE TABLE currencies (code varchar(3) CONSTRAINT pk_currencies PRIMARY KEY, "
        "minor_units smallint NOT NULL "
        "CONSTRAINT ck_currencies_minor_units_range CHECK (minor_units BETWEEN 0 AND 4))"
    )
    op.execute("INSERT INTO currencies VALUES " + ", ".join(f"('{c}', {p})" for c, p in CURRENCIES.items()))
    op.execute(
        "ALTER TABLE wallets ADD CONSTRAINT fk_wallets_currency_currencies "
        "FOREIGN KEY (currency) REFERENCES currencies (code)"
    )

    op.execute("ALTER TABLE wallets ADD COLUMN system_purpose varchar(20)")
    op.execute(
        "CREATE UNIQUE INDEX uq_wallets_system_purpose_currency ON wallets (system_purpose, currency) "
        "WHERE system_purpose IS NOT NULL"
    )
    op.execute("ALTER TABLE wallets DROP CONSTRAINT ck_wallets_balance_non_negative")
    op.execute(
        "ALTER TABLE wallets ADD CONSTRAINT ck_wallets_balance_above_floor "
        "CHECK (balance >= 0 OR system_purpose IS NOT DISTINCT FROM 'world')"
    )
    # A leg's balance_after is its wallet's balance, whose floor the wallet row enforces.
    op.execute("ALTER TABLE wallet_history DROP CONSTRAINT ck_wallet_history_balance_after_non_negative")
    # Kinds live in one catalogue (wallet_app/ledger/catalogue.py); reconcile flags unknown ones.
    op.execute("ALTER TABLE transactions DROP CONSTRAINT ck_transactions_kind_known")
    op.execute("ALTER TABLE idempotency_keys DROP COLUMN response_body")
    # The claim names its transaction before the transaction row exists (same database
    # transaction), so the reference is checked at commit.
    op.execute(
        "ALTER TABLE idempotency_keys ALTER CONSTRAINT fk_idempotency_keys_transaction_id_transactions "
        "DEFERRABLE INITIALLY DEFERRED"
    )

    op.execute(f"""
        INSERT INTO wallets (owner_name, currency, system_purpose)
        SELECT initcap(p) || ' (' || c.code || ')', c.code, p
        FROM currencies c CROSS JOIN unnest(ARRAY{list(SYSTEM_PURPOSES)}) p
        ORDER BY c.code, p""")
    # Each existing fund came from outside the ledger: give it its world leg, the world
    # wallet's balance_after running in transaction order.
    op.execute("""
        INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after, created_at)
        SELECT w.id, t.id, -t.amount,
               -sum(t.amount) OVER (PARTITION BY t.currency ORDER BY t.id), t.created_at
        FROM transactions t JOIN wallets w ON w.system_purpose = 'world' AND w.currency = t.currency
        WHERE t.kind = 'fund' ORDER BY t.id""")
    op.execute("""
        UPDATE wallets w SET balance = s.total
        FROM (SELECT wallet_id, sum(amount) AS total FROM wallet_history GROUP BY wallet_id) s
        WHERE s.wallet_id = w.id AND w.system_purpose IS NOT NULL""")

    op.execute("DROP FUNCTION wallet_fail(text, text)")
    op.execute(LEDGER_REFUSE)
    op.execute(LEDGER_POST)


def downgrade():
    raise NotImplementedError("0004 turns single-entry funds into double entry; restore a backup instead.")
