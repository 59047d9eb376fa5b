"""The statements' SQL: loading lines, the matching rules as set-based statements, and the
breaks as they stand. Every statement works on all of a statement's lines at once."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

# -- loading -------------------------------------------------------------------------------
UPLOAD_TABLE = """
    DROP TABLE IF EXISTS pg_temp.bank_upload;
    CREATE TEMP TABLE bank_upload (line_no int, bank_id text, value_date date, amount numeric,
                                   reference text, description text) ON COMMIT DROP"""
INSERT_LINES = """
    INSERT INTO bank_lines (reconciliation_id, currency, line_no, bank_id, value_date, amount, reference, description)
    SELECT :rec, :currency, line_no, bank_id, value_date, amount, reference, description
    FROM bank_upload ORDER BY line_no
    ON CONFLICT DO NOTHING"""


def load_lines(s: Session, rec: int, currency: str, rows: list[tuple]) -> int:
    """COPY the lines in, then insert those not imported before (the bank's id, or day, amount
    and reference without one: the unique indexes decide); how many were new."""
    driver = s.connection().connection.driver_connection
    with driver.cursor() as cursor:
        cursor.execute(UPLOAD_TABLE)
        with cursor.copy("COPY bank_upload FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return s.execute(text(INSERT_LINES), {"rec": rec, "currency": currency}).rowcount


# -- matching ------------------------------------------------------------------------------
# The statement's new lines and the ledger's unmatched movements in its range, each side
# shrinking as the rules pair them (a movement: its direction by kind, its UTC day).
WORK_TABLES = """
    DROP TABLE IF EXISTS pg_temp.bank_new, pg_temp.bank_candidates;
    CREATE TEMP TABLE bank_new ON COMMIT DROP AS
      SELECT id, line_no, sign(amount)::int AS sign, abs(amount) AS amount, lower(reference) AS ref, value_date AS day
      FROM bank_lines WHERE reconciliation_id = :rec;
    CREATE TEMP TABLE bank_candidates ON COMMIT DROP AS
      SELECT t.id, CASE t.kind WHEN 'fund' THEN 1 ELSE -1 END AS sign, t.amount,
             lower(btrim(coalesce(t.reference, ''))) AS ref, (t.created_at AT TIME ZONE 'UTC')::date AS day
      FROM transactions t
      WHERE t.currency = :currency AND t.status = 'posted' AND t.kind IN ('fund', 'withdrawal')
        AND t.created_at >= :start AND t.created_at < :end
        AND NOT EXISTS (SELECT 1 FROM bank_matches m WHERE m.transaction_id = t.id);
    CREATE INDEX ON bank_candidates (sign, amount, day);
    CREATE INDEX ON bank_candidates (sign, ref);
    ANALYZE bank_new;
    ANALYZE bank_candidates"""

# Every rule is `pairs` (line_id, tx_id) written as matches, both sides then leaving the work
# tables, in one statement.
STEP = """
    WITH pairs AS ({pairs}),
    written AS (
      INSERT INTO bank_matches (line_id, transaction_id, rule, matched_by)
      SELECT line_id, tx_id, :rule, :actor FROM pairs RETURNING line_id, transaction_id),
    lines_done AS (DELETE FROM bank_new n USING written w WHERE n.id = w.line_id),
    txs_done AS (DELETE FROM bank_candidates c USING written w WHERE c.id = w.transaction_id)
    SELECT count(DISTINCT line_id) FROM written"""

# Mutual best: a pair is taken when each is the other's nearest (day, then amount, then id);
# the nearest pair of all always is, so every round pairs at least one while any is left.
MUTUAL_BEST = """
    SELECT line_id, tx_id FROM (
      SELECT line_id, tx_id,
             row_number() OVER (PARTITION BY line_id ORDER BY dd, ad, tx_id) AS line_rank,
             row_number() OVER (PARTITION BY tx_id ORDER BY dd, ad, line_id) AS tx_rank
      FROM ({candidates}) candidates) ranked
    WHERE line_rank = 1 AND tx_rank = 1"""

BY_REFERENCE = MUTUAL_BEST.format(
    candidates="""
      SELECT n.id AS line_id, c.id AS tx_id, abs(n.day - c.day) AS dd, abs(n.amount - c.amount) AS ad
      FROM bank_new n JOIN bank_candidates c ON c.sign = n.sign AND c.ref = n.ref
      WHERE n.ref <> '' AND abs(n.amount - c.amount) <= :tol"""
)
# One line, several movements with its reference that together make its amount. Only when
# the line is the one left with that reference: two lines would leave it ambiguous.
BY_REFERENCE_SUM = """
    SELECT l.id AS line_id, c.id AS tx_id
    FROM (SELECT sign, ref, min(id) AS id, min(amount) AS amount FROM bank_new
          WHERE ref <> '' GROUP BY sign, ref HAVING count(*) = 1) l
    JOIN (SELECT sign, ref, sum(amount) AS total FROM bank_candidates
          GROUP BY sign, ref HAVING count(*) > 1) g ON g.sign = l.sign AND g.ref = l.ref
    JOIN bank_candidates c ON c.sign = l.sign AND c.ref = l.ref
    WHERE abs(g.total - l.amount) <= :tol"""
# The same amount, `offset` days apart: the k-th line of a (direction, amount, day) with the
# k-th movement of that amount `offset` days later. A sort of each side, however many are alike.
BY_AMOUNT_ON_DAY = """
    SELECT l.id AS line_id, c.id AS tx_id
    FROM (SELECT id, sign, amount, day, row_number() OVER (PARTITION BY sign, amount, day ORDER BY line_no, id) AS k
          FROM bank_new) l
    JOIN (SELECT id, sign, amount, day, row_number() OVER (PARTITION BY sign, amount, day ORDER BY id) AS k
          FROM bank_candidates) c
      ON c.sign = l.sign AND c.amount = l.amount AND c.day = l.day + CAST(:offset AS integer) AND c.k = l.k"""
# Within the tolerance: each line's three nearest movements (an index range), then mutual best.
BY_AMOUNT_NEAR = MUTUAL_BEST.format(
    candidates="""
      SELECT n.id AS line_id, c.id AS tx_id, abs(n.day - c.day) AS dd, abs(n.amount - c.amount) AS ad
      FROM bank_new n CROSS JOIN LATERAL (
        SELECT c.id, c.day, c.amount FROM bank_candidates c
        WHERE c.sign = n.sign AND c.amount BETWEEN n.amount - :tol AND n.amount + :tol
          AND c.day BETWEEN n.day - CAST(:window AS integer) AND n.day + CAST(:window AS integer)
        ORDER BY abs(n.day - c.day), abs(n.amount - c.amount), c.id LIMIT 3) c"""
)


def match(
    s: Session,
    rec: int,
    currency: str,
    span: tuple[datetime, datetime],
    tol: Decimal,
    window: int,
    actor: str,
    rounds: int,
) -> int:
    """The rules in order: the same reference (one movement, then several that sum to the
    line), then the same amount on the nearest day within the window, then (with a
    tolerance) the nearest amount. How many lines matched."""
    params = {"rec": rec, "currency": currency, "start": span[0], "end": span[1]}
    for statement in WORK_TABLES.split(";"):  # one at a time: a prepared statement holds one
        s.execute(text(statement), params)

    def step(pairs: str, rule: str, **params) -> int:
        return s.execute(text(STEP.format(pairs=pairs)), {"rule": rule, "actor": actor, "tol": tol, **params}).scalar()

    def repeated(pairs: str, rule: str, **params) -> int:
        total = 0
        for _ in range(rounds):
            found = step(pairs, rule, **params)
            total += found
            if not found:
                break
        return total

    matched = repeated(BY_REFERENCE, "reference") + step(BY_REFERENCE_SUM, "reference")
    for offset in [0] + [d for k in range(1, window + 1) for d in (-k, k)]:  # the ledger's day first
        matched += step(BY_AMOUNT_ON_DAY, "amount_date", offset=offset)
    if tol > 0:
        matched += repeated(BY_AMOUNT_NEAR, "amount_date", window=window)
    return matched


# -- breaks as they stand ------------------------------------------------------------------
# A line's standing: matched (a rule or a link), cleared (its adjustment posted), awaiting an
# adjustment's approval, or open (nothing, or an adjustment rejected or expired).
LINE_STATUS = """
    LEFT JOIN LATERAL (
      SELECT CASE WHEN bool_or(m.rule <> 'adjustment') THEN 'matched'
                  WHEN bool_or(t.status = 'posted') THEN 'cleared'
                  WHEN bool_or(t.status = 'awaiting_approval') THEN 'awaiting_approval'
                  ELSE 'open' END AS status,
             max(t.id) FILTER (WHERE m.rule = 'adjustment' AND t.status IN ('posted', 'awaiting_approval'))
               AS adjustment_id
      FROM bank_matches m JOIN transactions t ON t.id = m.transaction_id WHERE m.line_id = l.id) s ON true"""
OPEN_LINES = f"""
    SELECT l.id, l.line_no, l.bank_id, l.value_date, l.amount, l.reference, l.description, s.status, s.adjustment_id
    FROM bank_lines l {LINE_STATUS}
    WHERE l.reconciliation_id = :rec AND s.status IN ('open', 'awaiting_approval')"""
OPEN_LEDGER = """
    SELECT t.id, t.kind, t.created_at, t.amount, t.reference,
           coalesce(t.dest_wallet_id, t.source_wallet_id) AS wallet_id
    FROM transactions t
    WHERE t.currency = :currency AND t.status = 'posted' AND t.kind IN ('fund', 'withdrawal')
      AND t.created_at >= :start AND t.created_at < :end
      AND NOT EXISTS (SELECT 1 FROM bank_matches m WHERE m.transaction_id = t.id)"""


def open_lines(s: Session, rec: int, limit: int | None) -> dict:
    return _listed(s, OPEN_LINES, "line_no", {"rec": rec}, limit)


def open_ledger(s: Session, currency: str, start: datetime, end: datetime, limit: int | None) -> dict:
    return _listed(s, OPEN_LEDGER, "created_at, id", {"currency": currency, "start": start, "end": end}, limit)


def _listed(s: Session, query: str, order: str, params: dict, limit: int | None) -> dict:
    """The first `limit` rows (all with None) and how many there are."""
    if limit is None:
        return {"rows": s.execute(text(f"{query} ORDER BY {order}"), params).all(), "count": None}
    rows = s.execute(text(f"{query} ORDER BY {order} LIMIT :limit"), {**params, "limit": limit}).all()
    count = len(rows) if len(rows) < limit else s.execute(text(f"SELECT count(*) FROM ({query}) q"), params).scalar()
    return {"rows": rows, "count": count}


RECENT = f"""
    SELECT r.id, r.currency, r.line_count, r.imported, r.duplicates, r.first_day, r.last_day, r.created_by,
           r.created_at, (SELECT count(*) FROM bank_lines l {LINE_STATUS}
                          WHERE l.reconciliation_id = r.id AND s.status IN ('open', 'awaiting_approval')) AS open
    FROM bank_reconciliations r WHERE (CAST(:cursor AS bigint) IS NULL OR r.id < :cursor)
    ORDER BY r.id DESC LIMIT :limit"""


def recent(s: Session, cursor: int | None, limit: int) -> list:
    return s.execute(text(RECENT), {"cursor": cursor, "limit": limit}).all()


ONE_LINE = f"""
    SELECT l.id, l.line_no, l.bank_id, l.value_date, l.amount, l.reference, l.description, s.status, s.adjustment_id
    FROM bank_lines l {LINE_STATUS}
    WHERE l.reconciliation_id = :rec AND l.id = :line"""


def one_line(s: Session, rec: int, line: int):
    return s.execute(text(ONE_LINE), {"rec": rec, "line": line}).first()
