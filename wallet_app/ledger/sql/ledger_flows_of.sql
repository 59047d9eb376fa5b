-- What a new movement counts toward four eyes (docs/DESIGN.md, "Four eyes"): its wallet's
-- outflow (what the source pays) or, for money from outside, its destination's inflow; and an
-- exchange's converted amount as its destination's inflow. An exchange's reversal, stated in
-- the exchange's terms, counts what its source pays and its destination receives: the other
-- way round. Rows with no amount count nothing. The one copy for ledger_write (one movement)
-- and ledger_write_set (a batch's): a single SELECT, inlined into the statement that calls it.
CREATE FUNCTION ledger_flows_of(p_tx transactions) RETURNS TABLE (wallet_id bigint, inflow boolean, amount numeric)
LANGUAGE sql STABLE AS $$
    SELECT *
    FROM (VALUES (coalesce(p_tx.source_wallet_id, p_tx.dest_wallet_id), p_tx.source_wallet_id IS NULL,
                  CASE WHEN p_tx.reverses_transaction_id IS NULL THEN p_tx.amount
                       ELSE coalesce(p_tx.dest_amount, p_tx.amount) END),
                 (p_tx.dest_wallet_id, true,
                  CASE WHEN p_tx.reverses_transaction_id IS NULL THEN p_tx.dest_amount
                       WHEN p_tx.dest_amount IS NOT NULL THEN p_tx.amount END)) u (wallet_id, inflow, amount)
$$;
