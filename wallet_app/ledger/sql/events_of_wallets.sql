-- A customer wallet's events: `wallet.created`; `wallet.updated` when its owner, status,
-- limits or alert lines change (the engine's balance writes name none of those columns, so
-- the trigger does not even fire for them); `balance.alert` when its available balance (as
-- the API shows it: balance above its floor, less what its holds reserve) crosses one of its
-- alert lines, below `alert_below` or above `alert_above`: once at the crossing (not at every
-- movement while it stays there), again only after it has crossed back. Only wallets with a
-- line pay for the check (the WHEN clause).
CREATE FUNCTION events_of_new_wallets() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, object_type, object_id, wallet_ids, created_at)
    SELECT 'wallet.created', 'wallet', n.id, ARRAY[n.id], n.created_at
    FROM new_wallets n WHERE n.system_purpose IS NULL ORDER BY n.id;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER events_of_new_wallets AFTER INSERT ON wallets
    REFERENCING NEW TABLE AS new_wallets
    FOR EACH STATEMENT EXECUTE FUNCTION events_of_new_wallets();

CREATE FUNCTION events_of_changed_wallet() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, object_type, object_id, wallet_ids) VALUES ('wallet.updated', 'wallet', NEW.id, ARRAY[NEW.id]);
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER events_of_changed_wallet
    AFTER UPDATE OF owner_name, owner_email, external_ref, status, overdraft_limit, max_balance, daily_outflow_limit,
                    alert_below, alert_above ON wallets
    FOR EACH ROW
    WHEN (new.system_purpose IS NULL
          AND (old.owner_name, old.owner_email, old.external_ref, old.status, old.overdraft_limit, old.max_balance,
               old.daily_outflow_limit, old.alert_below, old.alert_above)
              IS DISTINCT FROM (new.owner_name, new.owner_email, new.external_ref, new.status, new.overdraft_limit,
                                new.max_balance, new.daily_outflow_limit, new.alert_below, new.alert_above))
    EXECUTE FUNCTION events_of_changed_wallet();

CREATE FUNCTION events_of_balance_alert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    before numeric := OLD.balance + OLD.overdraft_limit - OLD.held;
    after numeric := NEW.balance + NEW.overdraft_limit - NEW.held;
BEGIN
    INSERT INTO events (type, object_type, object_id, wallet_ids, data)
    SELECT 'balance.alert', 'wallet', NEW.id, ARRAY[NEW.id],
           jsonb_build_object('direction', a.direction, 'line', a.line::text, 'available', after::text,
                              'previous', before::text)
    FROM (VALUES ('below', NEW.alert_below, before >= NEW.alert_below AND after < NEW.alert_below),
                 ('above', NEW.alert_above, before <= NEW.alert_above AND after > NEW.alert_above)) a (direction, line, crossed)
    WHERE a.crossed;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER events_of_balance_alert AFTER UPDATE OF balance, held, overdraft_limit ON wallets
    FOR EACH ROW
    WHEN (new.alert_below IS NOT NULL OR new.alert_above IS NOT NULL)
    EXECUTE FUNCTION events_of_balance_alert();
