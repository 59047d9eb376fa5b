-- A fee rounded UP to the currency's minor units: the house never charges less than its
-- rule says, so a small amount cannot round its fee away (docs/DESIGN.md, "Fees").
CREATE FUNCTION ledger_round_up(x numeric, places int) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT round(ceil(x * 10::numeric ^ places) / 10::numeric ^ places, places) $$;
