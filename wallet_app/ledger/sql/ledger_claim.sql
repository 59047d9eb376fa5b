-- Step 1, before anything else: claim the request's idempotency key. A concurrent twin blocks
-- on the key's unique index until this transaction ends, then finds the claim. Answers NULL
-- when the key is new (now claimed for p_tx, with the answer's HTTP status); for a key already
-- claimed with the same fingerprint, that claim: the first answer's transaction and status (a
-- replay); the same key with other parameters is refused.
CREATE FUNCTION ledger_claim(p_scope text, p_key text, p_fp text, p_tx bigint, p_status int, p_operation text)
RETURNS idempotency_keys
LANGUAGE plpgsql AS $$
DECLARE
    claimed idempotency_keys;
BEGIN
    INSERT INTO idempotency_keys (scope, key, fingerprint, transaction_id, response_status, created_at, operation)
    VALUES (p_scope, p_key, p_fp, p_tx, p_status, now(), p_operation)
    ON CONFLICT (scope, key) DO NOTHING;
    IF NOT FOUND THEN
        SELECT * INTO claimed FROM idempotency_keys k WHERE k.scope = p_scope AND k.key = p_key;
        IF claimed.fingerprint <> p_fp THEN
            PERFORM ledger_refuse('idempotency_key_reused', 'idempotency_key', '{}');
        END IF;
    END IF;
    RETURN claimed;
END $$;
