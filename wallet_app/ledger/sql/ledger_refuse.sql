-- A refusal of the engine: SQLSTATE WA001 with the code as its message and a JSON detail
-- naming the field at fault. The statement, and so the key's claim, rolls back whole.
CREATE FUNCTION ledger_refuse(code text, field text, detail jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- SQLSTATE WA001: a broken rule; the statement, and so the key's claim, rolls back.
    RAISE EXCEPTION USING ERRCODE = 'WA001', MESSAGE = code,
        DETAIL = (detail || jsonb_build_object('field', field))::text;
END $$;
