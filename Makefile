# hoso: every target installs what it needs, idempotently.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: all install demo test lint format kafka-jars kafka-start kafka-stop schemas messages bench perf-table screenshot clean deploy-tools

KUSTOMIZE_VERSION := v5.7.1

all: test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# setuptools' editable build always prints an informational "be careful with folders" note; a fresh
# clone's first screen should not open with it.
$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

kafka-jars: install   ## resolve the broker jars with Maven (cached under ~/.cache/hoso/kafka)
	$(BIN)/hoso kafka fetch

kafka-start: kafka-jars
	$(BIN)/hoso kafka start

kafka-stop: install
	$(BIN)/hoso kafka stop

demo: kafka-jars   ## the live pipeline on synthetic dossiers
	$(BIN)/hoso demo

test: kafka-jars lint deploy-tools   ## unit, integration (real broker) and end-to-end tests
	$(BIN)/python -m pytest

deploy-tools:   ## kustomize for the k8s overlay tests, built once from the Go module proxy
	@command -v kustomize >/dev/null 2>&1 || test -x "$$(go env GOPATH 2>/dev/null)/bin/kustomize" || \
	  { command -v go >/dev/null 2>&1 && GOTOOLCHAIN=local go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION); } || \
	  echo "kustomize is not installed (it needs Go): the k8s overlay tests are skipped outside CI"

lint: install   ## style, and the import-layer contract in pyproject.toml (docs/architecture.md)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

perf-table: install   ## rewrite the figures table of docs/performance.md from a bench run: make perf-table BENCH=docs/bench/<run>.json
	@test -n "$(BENCH)" || { echo "usage: make perf-table BENCH=docs/bench/<run>.json (a hoso bench --json output)"; exit 2; }
	$(BIN)/python -m hosoctl.bench.table $(BENCH)

screenshot: install   ## rewrite docs/img/zalo-inbox.png from the inbox page's browser test (needs chromium)
	HOSO_UPDATE_SCREENSHOT=1 $(BIN)/python -m pytest -q tests/zalo_simulator/test_inbox_browser.py

schemas: install   ## regenerate the JSON Schema files after changing a model
	$(BIN)/python -m schemas.export

messages: install   ## regenerate docs/messages.md (every message citizens receive) after changing a wording
	$(BIN)/python -m hosoctl.messages_doc > docs/messages.md

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
