# Two entry points for a fresh machine: `make serve` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup serve predict test lint clean browser

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# The main job: the HTTP service on its embedded defaults (SQLite in instance/, the default
# model trained first if none exists), under gunicorn on 127.0.0.1:8000.
serve: setup
	$(BIN)/triage serve

# Classify a sample message from the command line.
predict: setup
	$(BIN)/triage predict "食品经营许可证现场核查约了两周还没人来，窗口电话也打不通"

# The page tests drive Debian's Chromium (never a downloaded browser) and need CJK fonts to
# render Chinese; install both when missing (CI runs as root).
browser:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || \
		(apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk)

test: setup browser
	$(BIN)/ruff check triage tests training benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check triage tests training benchmarks
	$(BIN)/ruff format --check triage tests training benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
