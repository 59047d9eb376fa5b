-- The one write path of the ledger (docs/DESIGN.md, "The write protocol"): every movement,
-- hold, resolution and dry run is one call of ledger_post(), in one database transaction.
-- It reads as the protocol: claim the key, lock and check the hold a resolution ends or the
-- transaction a reversal reverses, compose the legs, lock the wallets, check the rules, decide
-- four eyes, write. Each step is a function of its own file (locking and checking the wallets
-- are one, ledger_check), commented with what it guarantees.
--
-- Called with named parameters (ledger/engine.py; the catalogue composes the legs):
--   ledger_post(p_scope => 'user:1', p_key => '...', p_fp => '...', p_actor => 'ann@example.com',
--               p_owner => 'user:1', p_kind => 'transfer', p_amount => 10.00, p_source => 7, p_dest => 9,
--               p_wallets => '{7,9}', p_systems => '{NULL,NULL}', p_likes => '{NULL,1}',
--               p_amounts => '{-10.00,10.00}', p_fields => '{from_wallet_id,to_wallet_id}',
--               p_rate_max_age => 3600, p_expires_in => 604800, p_fee_payer => 1)
CREATE FUNCTION ledger_post(
    -- The request: its idempotency key, claimed in the caller's scope, and the fingerprint of
    -- its parameters (the same key with another fingerprint is refused).
    p_scope text, p_key text, p_fp text,
    -- Who asks: the name audited, and the person or integration behind it (four eyes compare
    -- owners; a hold is its owner's to capture or void).
    p_actor text, p_owner text,
    -- The movement: its kind, amount and customer wallets (source NULL: money from `world`;
    -- dest NULL: to `world`), and its legs as the catalogue composed them, leg i being
    -- p_wallets[i] (a customer wallet) or the system wallet of purpose p_systems[i] in the
    -- currency of leg p_likes[i], moving the signed p_amounts[i], a refusal about it naming
    -- the request field p_fields[i].
    p_kind text, p_amount numeric, p_source bigint, p_dest bigint,
    p_wallets bigint[], p_systems text[], p_likes int[], p_amounts numeric[], p_fields text[],
    -- The house's settings: an fx rate older than this many seconds is stale; a hold or an
    -- approval request lives this long.
    p_rate_max_age int, p_expires_in int,
    -- What the catalogue says of the kind: the leg that pays its fee (1-based), when it waits
    -- for a second person (above_threshold | always | never), whether it may be held. A
    -- batch's item: 'batch' when ledger_batch decided for the whole batch that it need not wait
    -- (it counts toward its wallet's unapproved day), 'never' when a second person approved it.
    p_fee_payer int DEFAULT NULL, p_four_eyes text DEFAULT 'above_threshold', p_holdable boolean DEFAULT FALSE,
    p_reference text DEFAULT NULL, p_reason text DEFAULT NULL,
    p_issuer text DEFAULT NULL,       -- a token's: the operator who issued it (has seen its secret)
    p_ip text DEFAULT NULL,
    p_dry_run boolean DEFAULT FALSE,  -- the review step: every check, nothing written
    -- An exchange: the legs whose amount is the converted one; the rate the caller expects (a
    -- guard only: the house's rate applies).
    p_converts boolean[] DEFAULT NULL, p_rate numeric DEFAULT NULL,
    -- A reversal: the transaction it reverses, whether the catalogue lets that kind be
    -- reversed, and the fee it returns (NULL: none).
    p_reverses bigint DEFAULT NULL, p_reversible boolean DEFAULT NULL, p_refund_fee numeric DEFAULT NULL,
    -- A hold: create one instead of posting; or end hold p_target (capture | approve | void |
    -- reject | expire), capture and approve posting its movement.
    p_pending boolean DEFAULT FALSE, p_resolve text DEFAULT NULL, p_target bigint DEFAULT NULL,
    -- An item of a batch (ledger_batch): the batch it is posted by.
    p_batch bigint DEFAULT NULL,
    -- The kind whose fee_schedule row prices it, when not its own (a split pays a transfer's).
    p_fee_kind text DEFAULT NULL,
    OUT verdict text,        -- posted | replay | checked (a dry run)
    OUT tx_id bigint, OUT posted_at timestamptz, OUT tx_currency text,
    OUT leg_wallets bigint[], OUT leg_amounts numeric[], OUT leg_balances numeric[], OUT tx_fee numeric,
    OUT leg_currencies text[], OUT tx_status text, OUT tx_rate numeric, OUT tx_dest_amount numeric,
    OUT tx_expires_at timestamptz,
    OUT first_status int)   -- the HTTP status the first answer had: 201, 202 (awaiting approval), 200 (resolution)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    claimed idempotency_keys;
    hold transactions;
    legs record;
    checked record;
    tx transactions;
    waits boolean;
BEGIN
    -- 1. The key, first: a replay answers what the first call did.
    IF NOT p_dry_run THEN
        tx_id := coalesce(p_target, nextval('transactions_id_seq'));
        first_status := CASE WHEN p_resolve IS NULL THEN 201 ELSE 200 END;
        claimed := ledger_claim(p_scope, p_key, p_fp, tx_id, first_status, coalesce(p_resolve, 'post'));
        IF claimed.transaction_id IS NOT NULL THEN
            verdict := 'replay';
            tx_id := claimed.transaction_id;
            first_status := claimed.response_status;
            RETURN;
        END IF;
    END IF;

    -- 2. A resolution: the hold, locked and checked. Void, reject, expire and approving a hold
    --    request move nothing: they end here.
    IF p_target IS NOT NULL THEN
        hold := ledger_hold(p_target, p_resolve, p_owner, p_issuer, p_kind, p_amount, p_source, p_dest);
        IF p_resolve IN ('void', 'reject', 'expire') OR (p_resolve = 'approve' AND hold.hold_requested) THEN
            verdict := 'checked';
            IF NOT p_dry_run THEN
                posted_at := now();
                tx_status := ledger_end_hold(hold, p_resolve, p_actor, p_ip, p_reason, posted_at);
                verdict := 'posted';
                tx_currency := hold.currency;
            END IF;
            RETURN;
        END IF;
    END IF;

    -- 3. A reversal: its original, locked and checked.
    IF p_reverses IS NOT NULL THEN
        PERFORM ledger_original(p_reverses, p_amount, p_refund_fee, p_reversible);
    END IF;

    -- 4. The legs as they will be written: system wallets found, an exchange converted at the
    --    house's quote, the fee's leg added.
    legs := ledger_legs(coalesce(p_fee_kind, p_kind), p_amount, p_source, p_dest, p_wallets, p_systems, p_likes, p_amounts, p_fields,
                        p_converts, p_rate, p_rate_max_age, p_fee_payer, p_pending AND p_target IS NULL, p_holdable,
                        p_reverses);

    -- 5. The wallets, locked in ascending id order; 6. every rule about them, under those locks.
    checked := ledger_check(p_kind, p_target, p_source, legs.ids, legs.amounts, legs.fields, legs.systems, p_likes,
                            legs.fee);

    -- 7. Four eyes: a new movement above the threshold, or of a kind that always does, waits
    --    for a second person.
    tx_status := CASE WHEN p_pending AND p_target IS NULL THEN 'pending' ELSE 'posted' END;
    IF p_target IS NULL AND p_four_eyes = 'always' THEN
        tx_status := 'awaiting_approval';
    ELSIF p_target IS NULL AND p_four_eyes = 'above_threshold' THEN
        IF p_reverses IS NOT NULL AND legs.dest_amount IS NOT NULL THEN
            -- An exchange's reversal converts back: its source pays in the exchange's
            -- destination currency, its destination receives in the exchange's own.
            waits := ledger_must_wait(p_source, p_dest, legs.dest_amount, legs.dest_currency, checked.source_held,
                                      checked.currencies[1], p_amount);
        ELSE
            waits := ledger_must_wait(p_source, p_dest, p_amount, checked.currencies[1], checked.source_held,
                                      legs.dest_currency, legs.dest_amount);
        END IF;
        IF waits THEN
            tx_status := 'awaiting_approval';
        END IF;
    END IF;

    tx_currency := checked.currencies[1];
    tx_fee := legs.fee;
    tx_rate := legs.rate;
    tx_dest_amount := legs.dest_amount;
    leg_wallets := legs.ids;
    leg_amounts := legs.amounts;
    leg_balances := checked.after;
    leg_currencies := checked.currencies;
    IF p_dry_run THEN
        verdict := 'checked';
        RETURN;
    END IF;

    -- 8. Write: a hold or an approval request (nothing moves yet), or the posted movement.
    posted_at := clock_timestamp();  -- under the locks: a wallet's legs grow in time as in id
    verdict := 'posted';
    tx.id := tx_id;
    tx.kind := p_kind;
    tx.amount := p_amount;
    tx.currency := tx_currency;
    tx.source_wallet_id := p_source;
    tx.dest_wallet_id := p_dest;
    tx.reference := p_reference;
    tx.created_by := p_actor;
    tx.created_at := posted_at;
    tx.fee := tx_fee;
    tx.reverses_transaction_id := p_reverses;
    tx.reason := p_reason;
    tx.status := tx_status;
    tx.rate := tx_rate;
    tx.dest_amount := tx_dest_amount;
    tx.dest_currency := legs.dest_currency;
    tx.rate_version := legs.rate_version;
    tx.maker_scope := p_owner;
    tx.batch_id := p_batch;
    IF tx_status <> 'posted' THEN
        tx_expires_at := posted_at + make_interval(secs => p_expires_in);
        tx.held_amount := checked.reserved;
        tx.expires_at := tx_expires_at;
        tx.hold_requested := p_pending;
        tx.fee_refunded := p_refund_fee IS NOT NULL;
        tx.maker_issuer := p_issuer;
        PERFORM ledger_request(tx, p_scope, p_key, p_ip, p_four_eyes <> 'never', checked.places);
        IF tx_status = 'awaiting_approval' THEN
            first_status := 202;
        END IF;
        leg_balances := checked.before;
        RETURN;
    END IF;
    PERFORM ledger_write(tx, hold, p_resolve, p_actor, p_ip, p_refund_fee, legs.ids, legs.amounts, checked.after,
                         p_four_eyes <> 'never', checked.places);
END $$;
