# model-router: every target a policy author or CI needs. `make` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
OPA         := .tools/bin/opa
REGAL       := .tools/bin/regal
REGO_DIR    ?= policies/model_router
SYSTEM_DIR  := policies/system
OPA_TIMEOUT := --timeout 120s
DATA_DIR    := build/data
CAPS        := policies/capabilities.json
INPUT_SCHEMA := schemas/route-input-bundle.schema.json
# guardrail-fabric's own package (the consumer of the guardrail projection), beside the project root;
# installed into .venv for the contract tests in tests/integrations when the folder is present
GUARDRAIL_FABRIC := $(CURDIR)/../shared/third-party/guardrail-fabric/package
COVERAGE    ?= 95
PACKAGE_COVERAGE ?= 90
REGAL_CATALOGUE := build/regal/catalogue.rego
PYTEST_ARGS ?=

.PHONY: help setup guardrail-fabric opa regal data bundle style test fmt-check check rego-test pytest lint python-lint fmt demo bench fuzz soak clean browser replay-demo fleet-deps fleet-test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: $(VENV)/.installed guardrail-fabric opa browser ## make .venv, install the package (editable, with dev extras) and build the pinned OPA

browser: ## Debian's chromium for the HTML report's browser test, when apt-get is usable (BROWSER=0 skips)
	@if [ "$${BROWSER:-1}" = "0" ] || command -v chromium >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = "0" ]; then \
	  echo "installing chromium (apt-get) for the HTML report's browser test"; \
	  mkdir -p .tools; DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium > .tools/chromium-install.log 2>&1 \
	    || echo "browser: chromium could not be installed (see .tools/chromium-install.log); the browser test will be skipped"; \
	else echo "browser: chromium is not installed and apt-get is not usable here; the HTML report's browser test will be skipped"; fi

guardrail-fabric: $(VENV)/.installed ## install guardrail-fabric's package (non-editable) from ../shared/third-party when that folder exists
	@if [ -d "$(GUARDRAIL_FABRIC)" ]; then \
	  stamp=$(VENV)/.guardrail-fabric; \
	  if [ ! -f $$stamp ] || [ -n "$$(find "$(GUARDRAIL_FABRIC)/pyproject.toml" "$(GUARDRAIL_FABRIC)/guardrail_fabric" -newer $$stamp -print -quit)" ]; then \
	    $(PY) -m pip install --quiet --no-deps --force-reinstall "$(GUARDRAIL_FABRIC)" > $(VENV)/guardrail-fabric-install.log 2>&1 \
	      || { cat $(VENV)/guardrail-fabric-install.log; exit 1; }; touch $$stamp; \
	  fi; \
	  $(PY) -c 'import guardrail_fabric.hooks' || { echo "guardrail-fabric is present at $(GUARDRAIL_FABRIC) but does not import"; exit 1; }; \
	else echo "guardrail-fabric: $(GUARDRAIL_FABRIC) not present; its contract tests will be skipped"; fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

opa: ## build the pinned OPA into .tools/bin (no-op when present)
	@bash tools/install-opa.sh

regal: ## build the pinned Regal linter into .tools/bin in Go module mode (no-op when present)
	@bash tools/install-regal.sh || { echo "regal: Regal $$(cat tools/regal.version) cannot be built, so make lint cannot run it (reason above; full log .tools/regal-install.log)" >&2; exit 1; }

data: $(VENV)/.installed opa ## load every policy data file (validated against its schema) into build/data; fails on an invalid one
	@$(PY) -m router.policy_data >/dev/null
	@if [ -f router/fixture_data.py ]; then $(PY) -m router.fixture_data >/dev/null; fi

bundle: data opa ## build the OPA bundle (build/bundle.tar.gz); BUNDLE_SIGNING_KEY=key.pem also writes the signed build/bundle.signed.tar.gz
	@$(PY) -m router.bundle $(if $(BUNDLE_SIGNING_KEY),--signing-key $(BUNDLE_SIGNING_KEY))

fmt-check: opa ## fail when any .rego file is not opa-fmt formatted
	@$(OPA) fmt --fail --list $(REGO_DIR) $(SYSTEM_DIR) >/dev/null || { echo "not opa fmt clean:"; $(OPA) fmt --list $(REGO_DIR) $(SYSTEM_DIR); exit 1; }
	@echo "opa fmt: clean"

check: opa data ## opa check --strict with the capabilities file (and the input schema when present)
	@$(OPA) check --strict --capabilities $(CAPS) $(if $(wildcard $(INPUT_SCHEMA)),--schema $(INPUT_SCHEMA)) $(REGO_DIR) $(DATA_DIR)
	@$(OPA) check --strict --capabilities $(CAPS) $(SYSTEM_DIR)
	@echo "opa check --strict: clean"

rego-test: opa data ## opa test once over all policies: failing tests with file:line and expected/actual; coverage per package (>= 90 %) and total (>= 95 %)
	@mkdir -p build
	@$(PY) tools/rego_test.py --opa $(OPA) --capabilities $(CAPS) --out build/rego-coverage.json \
	  --total $(COVERAGE) --package $(PACKAGE_COVERAGE) $(REGO_DIR) $(SYSTEM_DIR) $(DATA_DIR)

pytest: $(VENV)/.installed opa data
	$(PY) -m pytest $(PYTEST_ARGS)

style: $(VENV)/.installed ## Rego style checks beyond opa check (tests beside modules, packages mirror folders, METADATA)
	@$(PY) tools/rego_style.py $(REGO_DIR)
	@$(PY) tools/rego_style.py $(SYSTEM_DIR)

test: setup fleet-deps fmt-check style rego-test lint pytest ## every test: fmt check, style, opa test + coverage, lint (opa check --strict, Regal), pytest (with the short fleet test)

lint: fmt-check check style regal ## Regal (pinned, with .regal/config.yaml and the custom rules in .regal/rules) plus opa check --strict and opa fmt, ruff and mypy --strict; zero findings
	@$(PY) tools/rego_style.py --regal-catalogue $(REGAL_CATALOGUE)
	@$(REGAL) test .regal/rules >build/regal-rules-test.log 2>&1 || { cat build/regal-rules-test.log; echo "lint: the custom Regal rules in .regal/rules fail their own tests"; exit 1; }
	@$(REGAL) lint --no-color --config-file .regal/config.yaml --rules .regal/rules --rules $(dir $(REGAL_CATALOGUE)) $(REGO_DIR) $(SYSTEM_DIR)
	@$(MAKE) --no-print-directory python-lint

python-lint: $(VENV)/.installed ## (run by make lint after Regal) ruff (rules in pyproject.toml) on the Python code and mypy --strict on the router package; zero findings
	@status=0; \
	$(VENV)/bin/ruff check router tests bench tools setup.py || status=1; \
	$(VENV)/bin/mypy --strict router || status=1; \
	exit $$status

fmt: opa ## rewrite .rego files with opa fmt
	$(OPA) fmt --write $(REGO_DIR)

replay-demo: setup data ## record the example decisions, lower one budget ceiling in a copy of the policies, replay, print the impact
	@$(PY) -m router.replay.demo

demo: setup data ## decide every example bundle with the embedded local OPA and print the table
	@$(VENV)/bin/model-router demo

BASELINE ?= ccf4fde
bench: setup data ## benchmark harness: every issue-15 target, ok/MISS/SKIP (about six minutes); BASELINE=<commit> to compare decide_many with (default ccf4fde, main before issue 15; BASELINE= skips); writes bench/results/latest.json
	@$(PY) -m bench --baseline "$(BASELINE)" $(BENCH_ARGS)

fuzz: setup data ## longer property-based fuzz campaign
	$(PY) -m pytest tests -m slow -k fuzz $(PYTEST_ARGS)

soak: setup data ## longer soak (threads and processes deciding concurrently)
	$(PY) -m pytest tests -m slow -k soak $(PYTEST_ARGS)

fleet-deps: ## install nginx (the fleet's bundle server) from the system packages when missing; fails when it cannot
	@if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then echo "nginx: $$( (command -v nginx || echo /usr/sbin/nginx) )"; \
	elif ! command -v apt-get >/dev/null 2>&1; then echo "fleet-deps: nginx is not installed and apt-get is not available: install nginx with the system's package manager (or set MODEL_ROUTER_NGINX)"; exit 1; \
	else SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo "sudo -n" ); \
	  { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends nginx-light; } > build-nginx-install.log 2>&1 \
	    || { tail -n 20 build-nginx-install.log; echo "fleet-deps: installing nginx-light with apt-get failed (root or passwordless sudo needed)"; exit 1; }; \
	  rm -f build-nginx-install.log; echo "nginx: installed $$(/usr/sbin/nginx -v 2>&1)"; fi

fleet-test: setup fleet-deps data ## the fleet integration test in full: nginx + 3 OPA replicas, 2,000 decisions with a replica killed and one restarted, rollout, tampering, decision logs
	FLEET_DECISIONS=2000 $(PY) -m pytest tests/fleet -q -s $(PYTEST_ARGS)

clean: ## remove build outputs (keeps .venv and .tools)
	rm -rf build bench/results .pytest_cache .hypothesis
