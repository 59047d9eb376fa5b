-- Seal what has committed since the last call into the chain (docs/DESIGN.md, "The seal
-- chain"); run after commits by the worker or `flask seal`, never by a movement, so no write
-- queues on the chain's one lock. Each call seals the leg ids it read last time, once every
-- transaction then running has ended (a movement claims its key, and so has its transaction
-- id, before it draws a leg id: none that drew an id up to `next_upto` can be missing from
-- `next_snapshot`), then reads the leg id sequence again. A link is one transaction's legs in
-- the range sealed: its hash covers the previous link's hash and ledger_seal_canon(). One
-- sealer at a time (the state row's lock); at most p_max_legs legs per call.
CREATE FUNCTION ledger_seal(p_max_legs int DEFAULT 50000, OUT sealed int, OUT sealed_upto bigint)
LANGUAGE plpgsql AS $$
DECLARE
    st ledger_seal_state;
    upto bigint;
    prev bytea;
    last_seq bigint;
    link record;
    seqs bigint[] := '{}';
    txs bigint[] := '{}';
    counts int[] := '{}';
    prevs bytea[] := '{}';
    hashes bytea[] := '{}';
BEGIN
    sealed := 0;
    SELECT * INTO st FROM ledger_seal_state AS s WHERE s.id = 1 FOR UPDATE;

    -- 1. The legs read last time, once no transaction running then still runs.
    IF st.next_upto > st.sealed_upto
       AND NOT EXISTS (SELECT 1 FROM pg_snapshot_xip(st.next_snapshot::pg_snapshot) AS x
                       WHERE pg_xact_status(x) = 'in progress') THEN
        upto := least(st.next_upto, st.sealed_upto + p_max_legs);
        SELECT s.seq, s.hash INTO last_seq, prev FROM ledger_seals AS s ORDER BY s.seq DESC LIMIT 1;
        last_seq := coalesce(last_seq, 0);
        prev := coalesce(prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
        FOR link IN
            SELECT h.transaction_id, count(*)::int AS n,
                   ledger_seal_canon(h.transaction_id, st.sealed_upto, upto) AS canon
            FROM wallet_history AS h
            WHERE h.id > st.sealed_upto AND h.id <= upto
            GROUP BY h.transaction_id
            ORDER BY min(h.id)
        LOOP
            last_seq := last_seq + 1;
            seqs := seqs || last_seq;
            txs := txs || link.transaction_id;
            counts := counts || link.n;
            prevs := prevs || prev;
            prev := sha256(prev || convert_to(link.canon, 'UTF8'));
            hashes := hashes || prev;
        END LOOP;
        INSERT INTO ledger_seals (seq, transaction_id, legs_after, legs_upto, leg_count, prev_hash, hash, sealed_at)
        SELECT l.seq, l.tx, st.sealed_upto, upto, l.n, l.prev, l.hash, now()
        FROM unnest(seqs, txs, counts, prevs, hashes) AS l (seq, tx, n, prev, hash);
        sealed := cardinality(seqs);
        st.sealed_upto := upto;
    END IF;

    -- 2. Everything read is sealed: read the sequence, then (a later statement, a later
    --    snapshot) which transactions are running.
    IF st.next_upto IS NULL OR st.sealed_upto >= st.next_upto THEN
        SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('wallet_history', 'id')::regclass), 0)
        INTO st.next_upto;
        SELECT pg_current_snapshot()::text INTO st.next_snapshot;
    END IF;
    UPDATE ledger_seal_state AS s
    SET sealed_upto = st.sealed_upto, next_upto = st.next_upto, next_snapshot = st.next_snapshot,
        updated_at = now()
    WHERE s.id = 1;
    sealed_upto := st.sealed_upto;
END
$$;
