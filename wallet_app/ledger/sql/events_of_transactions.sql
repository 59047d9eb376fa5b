-- A movement's events (docs/DESIGN.md, "Events"), written by the statement that makes the
-- change, in its transaction: what rolls back writes none. A new transaction is
-- `transaction.<its status>` (posted, pending, awaiting_approval); a change of status is
-- approved (a request a second person let through), captured (a hold posted) or the status
-- it ends in (voided, rejected, expired); a reversal's original is `transaction.reversed`.
-- Each statement's rows at once (transition tables): a batch's thousand in one insert. The
-- event's object is rendered when it takes its place in the feed (wallet_app/events). The
-- triggers are CREATE OR REPLACE: tests/test_schema.py creates the files afresh in a schema of
-- its own, on the same tables.
CREATE FUNCTION events_of_new_transactions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, object_type, object_id, wallet_ids, created_at)
    SELECT 'transaction.' || n.status, 'transaction', n.id,
           array_remove(ARRAY[n.source_wallet_id, n.dest_wallet_id], NULL), n.created_at
    FROM new_transactions n
    ORDER BY n.id;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER events_of_new_transactions AFTER INSERT ON transactions
    REFERENCING NEW TABLE AS new_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION events_of_new_transactions();

CREATE FUNCTION events_of_changed_transactions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, object_type, object_id, wallet_ids)
    SELECT e.type, 'transaction', n.id, array_remove(ARRAY[n.source_wallet_id, n.dest_wallet_id], NULL)
    FROM old_transactions o
    JOIN new_transactions n ON n.id = o.id
    CROSS JOIN LATERAL (VALUES
        (1, CASE WHEN n.status = o.status THEN NULL
                 WHEN o.status = 'awaiting_approval' AND n.status IN ('pending', 'posted') THEN 'transaction.approved'
                 WHEN o.status = 'pending' AND n.status = 'posted' THEN 'transaction.captured'
                 ELSE 'transaction.' || n.status END),
        (2, CASE WHEN n.reversed_amount > o.reversed_amount THEN 'transaction.reversed' END)) e (k, type)
    WHERE e.type IS NOT NULL
    ORDER BY n.id, e.k;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER events_of_changed_transactions AFTER UPDATE ON transactions
    REFERENCING OLD TABLE AS old_transactions NEW TABLE AS new_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION events_of_changed_transactions();
