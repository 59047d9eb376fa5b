-- What a wallet's live holds reserve: its pending holds and approval requests not yet past
-- their expiry (its `held` counts expired ones too until they are marked), one of them aside
-- (the hold being captured or approved). The one definition: the engine reads it under the
-- wallet's lock, the pages and the API read it to show what is available (queries.live_held).
-- A single expression, so PostgreSQL inlines it into the statement that calls it.
CREATE FUNCTION ledger_live_held(p_wallet bigint, p_except bigint DEFAULT 0) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT sum(t.held_amount) FROM transactions AS t
                     WHERE t.source_wallet_id = p_wallet AND t.status IN ('pending', 'awaiting_approval')
                       AND t.expires_at > now() AND t.id <> p_except), 0)
$$;
