-- A batch's events: `batch.<status>` each time a statement sets its status (ledger_batch
-- writes a new batch's status once it knows it: posted, partially_posted, refused or
-- awaiting_approval; then approved or rejected into posted, ..., rejected or expired). A
-- batch claimed and refused as a whole (atomic) rolls back and writes none. Every UPDATE of
-- `batches` is one of those (ledger_batch is its only writer; a new batch's status may equal
-- the 'posted' its claim wrote, so "changed" cannot be the test): a statement that updates
-- batches for another reason must disable this trigger for its own transaction.
CREATE FUNCTION events_of_batches() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, object_type, object_id)
    SELECT 'batch.' || n.status, 'batch', n.id FROM new_batches n ORDER BY n.id;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER events_of_batches AFTER UPDATE ON batches
    REFERENCING NEW TABLE AS new_batches
    FOR EACH STATEMENT EXECUTE FUNCTION events_of_batches();
