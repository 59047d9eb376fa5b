-- Step 7, four eyes, for every principal whatever its rights: whether a new movement waits
-- for a second person's approval (its source's amount held meanwhile). It waits when its
-- wallet's movements of the last 24 hours that no second person approved, this one included
-- (and open unapproved holds however old: p_source_held > 0 means there may be some), pass
-- its currency's threshold; or when an exchange's converted amount, with the destination's
-- unapproved inflows, passes the destination currency's. A wallet's movements are those it
-- pays (it is the source), or for money from outside (no customer source) those it receives.
-- Read under the wallet's lock: racing movements of one wallet see each other, so splitting
-- one movement into many does not help.
-- STABLE: it only reads, with the snapshot ledger_post's call took after ledger_check's
-- locks, so it sees every movement of the wallet that committed before this one got the lock;
-- its statements take no snapshot of their own (bench/RESULTS.md, issue 24).
CREATE FUNCTION ledger_must_wait(p_source bigint, p_dest bigint, p_amount numeric, p_currency text,
                                 p_source_held numeric, p_dest_currency text, p_dest_amount numeric)
RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    counted numeric;
    threshold numeric;
BEGIN
    -- ledger_flows() and ledger_threshold() written out: a SQL function that is not inlined
    -- is planned again at every call, and this runs on every movement (bench/PROFILE.md).
    SELECT coalesce((SELECT sum(f.amount) FROM wallet_flows f
                     WHERE f.wallet_id = coalesce(p_source, p_dest) AND f.inflow = (p_source IS NULL)
                       AND f.hour >= date_trunc('hour', now() - interval '1 day')), 0),
           coalesce((SELECT a.amount FROM approval_thresholds a WHERE a.currency = p_currency),
                    (SELECT s.default_approval_threshold FROM ledger_settings s), 0)
    INTO counted, threshold;
    IF p_source_held > 0 THEN
        counted := counted + ledger_old_holds(p_source);
    END IF;
    RETURN counted + p_amount > threshold
        OR (p_dest_currency IS NOT NULL
            AND ledger_flows(p_dest, true) + p_dest_amount > ledger_threshold(p_dest_currency));
END $$;
