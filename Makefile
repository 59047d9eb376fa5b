# Two set-up commands: `make run` serves the console, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
PORT   ?= 5000

.PHONY: run test test-scale test-ha restore-drill soak bench install install-dev browser scale-tools clean lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Without DATABASE_URL: the embedded PostgreSQL in instance/ (wallet_app/localdb.py), held
# across the three steps so it starts once; Ctrl-C stops the app, then the database.
# Demo data on the first run; the output ends with the sign-in URL (and, the first time, the
# demo admin's credentials). The worker (events, webhooks, expiring holds) runs beside the
# server and stops with it; webhooks may go to receivers on this machine (WEBHOOK_ALLOW_PRIVATE).
run: install
	WEBHOOK_ALLOW_PRIVATE=$${WEBHOOK_ALLOW_PRIVATE:-1} $(BIN)/python -m wallet_app.localdb sh -c '$(FLASK) db upgrade && \
	  $(FLASK) demo-data --if-empty && { $(FLASK) worker & trap "kill $$! 2>/dev/null; wait" EXIT INT TERM; \
	  $(FLASK) serve --host 127.0.0.1 --port $(PORT); }'

test: install-dev browser scale-tools lint
	$(BIN)/python -m pytest

# ruff (settings in pyproject.toml): the lint rules, and the code as the formatter writes it;
# sqlfluff: the engine's SQL files, for PostgreSQL.
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint wallet_app/ledger/sql

# Only the scale tests: replica, PgBouncer, two instances behind HAProxy, cache (docs/SCALING.md).
test-scale: install-dev scale-tools
	$(BIN)/python -m pytest tests/scale

# Only the high-availability tests: etcd, Patroni, HAProxy, the app and pgBackRest (docs/OPERATIONS.md):
# the bank workload through a failover, twice, and the restore drill.
test-ha: install-dev scale-tools
	$(BIN)/python -m pytest tests/ha

# The restore drill alone (docs/OPERATIONS.md, "Runbook: restore the ledger to a moment"): backups of the app's ledger, a wrong
# batch, a point-in-time restore to just before it, the app and reconcile on the restored cluster.
restore-drill: install-dev scale-tools
	$(BIN)/python -m pytest tests/ha/test_restore.py

# The scale and HA tests (tests/scale, tests/ha) start PgBouncer, HAProxy, etcd, Patroni and
# pgBackRest themselves, from Debian's packages (tool:package), and the statement test reads
# its PDF back with poppler's pdftotext: installed with apt when we are root (CI); elsewhere
# the tests say what is missing.
SCALE_TOOLS := pgbouncer:pgbouncer haproxy:haproxy etcd:etcd-server patroni:patroni pgbackrest:pgbackrest pdftotext:poppler-utils
scale-tools:
	@missing=""; for pair in $(SCALE_TOOLS); do tool=$${pair%%:*}; \
	  [ -x /usr/sbin/$$tool ] || command -v $$tool >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "the tests need:$$missing (apt-get install$$missing)" >&2; fi; \
	fi

# Browser tests drive Debian's Chromium: installed with apt when we are root (CI),
# else Playwright's own download is the fallback for a developer machine.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else $(BIN)/python -m playwright install chromium; fi; \
	fi

# The bank test for 10 minutes: worker kills and PostgreSQL restarts under load.
soak: install-dev
	BANK_SECONDS=600 $(BIN)/python -m pytest tests/test_bank.py -q

# Benchmarks against pgbench in the same run; writes bench/RESULTS.md (about 15 minutes).
# The HTTP load generator is wrk, from Debian's packages (installed with apt when root).
bench: install-dev
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	  else echo "make bench needs wrk (apt-get install wrk)" >&2; exit 1; fi; \
	fi
	$(BIN)/python -m bench

# Stops the embedded PostgreSQL and deletes its data (and, as root, what it kept in /var/lib).
clean:
	if [ -x $(BIN)/python ]; then $(BIN)/python -m wallet_app.localdb --destroy; fi
	rm -rf $(VENV) instance .pytest_cache
