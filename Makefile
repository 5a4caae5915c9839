# Command index. Each target is a thin alias; the scripts do their own set-up.
.PHONY: help demo test lint types layers serve bench-bookings bench-matching bench-ledger bench-money

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

demo:  ## seed the Shenzhen demo market and serve it on http://127.0.0.1:8000
	./sparecap demo

test:  ## everything CI runs: lint, types, layer rules, tests on SQLite and PostgreSQL
	./run-tests

lint:  ## ruff lint and format check
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

types:  ## mypy strict
	.venv/bin/mypy

layers:  ## import-linter: dependencies point inward
	.venv/bin/lint-imports

serve:  ## serve the database in SPARECAP_DATABASE_URL
	./sparecap serve

bench-bookings:  ## booking throughput and latency over HTTP, SQLite and PostgreSQL
	.venv/bin/python bench/booking_throughput.py

bench-matching:  ## matching engine against baselines and OR-Library optima
	.venv/bin/python bench/matching.py

bench-ledger:  ## Merkle proof generation and verification
	.venv/bin/python bench/ledger_proofs.py

bench-money:  ## settle 100,000 bookings and reconcile 1M journal lines, SQLite and PostgreSQL
	.venv/bin/python bench/money.py
