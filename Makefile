# Two commands for a newcomer: `make run` and `make test`. Both create .venv as needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test bench lint format install migrate demo clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

migrate: install
	$(BIN)/flask db upgrade

demo: migrate
	$(BIN)/flask demo --if-empty
	$(BIN)/flask checklists install-default

run: demo
	@echo ""
	@echo "  Console:  http://127.0.0.1:$(PORT)/console/"
	@echo "            sign in as admin, password $${DEMO_PASSWORD:-demo-window-2026} (other demo people above)"
	@echo "  API docs: http://127.0.0.1:$(PORT)/api/v1/docs"
	@echo "  Health:   http://127.0.0.1:$(PORT)/healthz"
	@echo ""
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

# One worker a core, at most four: each opens its own PostgreSQL database and connections.
test: install
	$(BIN)/pytest -n auto --maxprocesses 4

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts
