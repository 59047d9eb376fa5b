-- Step 4b: each system leg's row, taken now. The shard its paying wallet hashes to (ledger_legs)
-- when free; when another movement holds it, the next free one of the following three
-- shards of that purpose and currency; all busy, the hashed one, waited for with the others
-- in step 5. A movement waiting on a system row that another holds is the hot row again, one
-- shard smaller: at 32 shards and 16 clients a transfer with a fee ran at 0.78 to 0.90 of one
-- without (bench/RESULTS.md, issue 26). Each row is asked for by its key, with SKIP LOCKED,
-- which never waits: out of ascending order it cannot deadlock. (One query over every shard
-- of the purpose read each one's dead versions too: on a worn ledger it cost more than the
-- queue it saved.) The choice never changes a decision: `world` and `fx` are unbounded and a
-- new movement only pays into `fees` (a fee goes back from the row it was paid to: reversals
-- keep their original's rows and never come here).
CREATE FUNCTION ledger_free_shards(p_ids bigint[], p_systems text[]) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    shards int := (SELECT s.system_shards FROM ledger_settings s);
    ids bigint[] := p_ids;
    home record;
    free bigint;
    i int;
    k int;
BEGIN
    IF shards <= 1 THEN
        RETURN p_ids;
    END IF;
    FOR i IN 1..cardinality(p_ids) LOOP
        IF p_systems[i] IS NOT NULL THEN
            free := (SELECT w.id FROM wallets w WHERE w.id = p_ids[i] FOR UPDATE SKIP LOCKED);
            IF free IS NULL THEN
                SELECT h.system_purpose, h.currency, h.shard INTO home FROM wallets h WHERE h.id = p_ids[i];
                FOR k IN 1 .. least(shards - 1, 3) LOOP
                    free := (SELECT w.id FROM wallets w
                             WHERE w.system_purpose = home.system_purpose AND w.currency = home.currency
                               AND w.shard = (home.shard + k) % shards
                             FOR UPDATE SKIP LOCKED);
                    EXIT WHEN free IS NOT NULL;
                END LOOP;
            END IF;
            ids[i] := coalesce(free, p_ids[i]);
        END IF;
    END LOOP;
    RETURN ids;
END $$;
