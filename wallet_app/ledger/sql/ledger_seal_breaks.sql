-- The seal chain checked from its start, in set-based SQL (every link's hash recomputed from
-- its own previous hash, every previous hash compared with the link before): the first
-- p_limit broken links, in chain order, each with what is wrong. A leg up to what is sealed
-- that no link covers is a break too (seq NULL). Nothing broken: no rows.
CREATE FUNCTION ledger_seal_breaks(p_limit int DEFAULT 1)
RETURNS TABLE (seq bigint, transaction_id bigint, leg_id bigint, problem text)
LANGUAGE sql STABLE AS $$
    WITH links AS (
        SELECT s.seq, s.transaction_id, s.legs_after, s.legs_upto, s.leg_count, s.prev_hash, s.hash,
               lag(s.seq) OVER (ORDER BY s.seq) AS seq_before,
               lag(s.hash) OVER (ORDER BY s.seq) AS hash_before
        FROM ledger_seals AS s
    ),
    checked AS (
        SELECT l.seq, l.transaction_id, NULL::bigint AS leg_id,
               CASE
                   WHEN l.seq <> coalesce(l.seq_before, 0) + 1 THEN 'a link before it is missing'
                   WHEN l.prev_hash <> coalesce(l.hash_before, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
                       THEN 'its previous hash is not the hash of the link before it'
                   WHEN c.canon IS NULL THEN 'its transaction is missing'
                   WHEN l.hash <> sha256(l.prev_hash || convert_to(c.canon, 'UTF8'))
                       THEN 'its transaction or legs differ from what was sealed'
               END AS problem
        FROM links AS l
        CROSS JOIN LATERAL (SELECT ledger_seal_canon(l.transaction_id, l.legs_after, l.legs_upto) AS canon) AS c
        UNION ALL
        SELECT NULL, h.transaction_id, h.id, 'a leg no link covers'
        FROM wallet_history AS h
        WHERE h.id <= (SELECT st.sealed_upto FROM ledger_seal_state AS st WHERE st.id = 1)
          AND NOT EXISTS (SELECT 1 FROM ledger_seals AS s
                          WHERE s.transaction_id = h.transaction_id AND h.id > s.legs_after AND h.id <= s.legs_upto)
    )
    SELECT c.seq, c.transaction_id, c.leg_id, c.problem
    FROM checked AS c
    WHERE c.problem IS NOT NULL
    ORDER BY c.seq NULLS LAST, c.leg_id
    LIMIT p_limit
$$;
