-- Step 4b: each system leg's row, taken now. The shard its paying wallet hashes to (ledger_legs)
-- when free; when another movement holds it, the next free shard of that purpose and
-- currency; every one busy, the hashed one, waited for with the others in step 5. A movement
-- waiting on a system row that another holds is the hot row again, one shard smaller: at 32
-- shards and 16 clients a transfer with a fee ran at 0.78 to 0.90 of one without
-- (bench/RESULTS.md, issue 26). Taken with SKIP LOCKED, which never waits: out of ascending
-- order it cannot deadlock. The choice never changes a decision: `world` and `fx` are
-- unbounded and a new movement only pays into `fees` (a fee goes back from the row it was
-- paid to: reversals keep their original's rows and never come here).
CREATE FUNCTION ledger_free_shards(p_ids bigint[], p_systems text[]) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[] := p_ids;
    i int;
BEGIN
    FOR i IN 1..cardinality(p_ids) LOOP
        IF p_systems[i] IS NOT NULL THEN
            ids[i] := coalesce(
                (SELECT f.id FROM wallets h
                 CROSS JOIN ledger_settings s
                 JOIN wallets f ON f.system_purpose = h.system_purpose AND f.currency = h.currency
                                   AND f.shard < s.system_shards
                 WHERE h.id = p_ids[i]
                 ORDER BY (f.shard - h.shard + s.system_shards) % s.system_shards
                 LIMIT 1
                 FOR UPDATE OF f SKIP LOCKED),
                p_ids[i]);
        END IF;
    END LOOP;
    RETURN ids;
END $$;
