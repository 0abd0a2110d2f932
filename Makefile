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
PYTEST_ARGS ?=

.PHONY: help setup guardrail-fabric opa regal data bundle style test fmt-check check rego-test pytest lint fmt demo bench fuzz soak clean fleet-deps fleet-test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: $(VENV)/.installed guardrail-fabric opa ## make .venv, install the package (editable, with dev extras) and build the pinned OPA

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

regal:
	@bash tools/install-regal.sh

data: $(VENV)/.installed ## assemble policy data from the contract documents into build/data
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

rego-test: opa data ## opa test with coverage (fails under the COVERAGE threshold, default 95 %)
	@$(OPA) test $(OPA_TIMEOUT) $(REGO_DIR) $(DATA_DIR) --capabilities $(CAPS) | tail -n 25
	@$(OPA) test $(OPA_TIMEOUT) $(SYSTEM_DIR) --capabilities $(CAPS) | sed 's/^/policies\/system: /' | tail -n 5
	@$(OPA) test $(OPA_TIMEOUT) $(REGO_DIR) $(DATA_DIR) --capabilities $(CAPS) --coverage --format json > build/rego-coverage.json
	@$(PY) tools/coverage_report.py build/rego-coverage.json $(COVERAGE)

pytest: $(VENV)/.installed opa data
	$(PY) -m pytest $(PYTEST_ARGS)

style: $(VENV)/.installed ## Rego style checks beyond opa check (tests beside modules, packages mirror folders, METADATA)
	@$(PY) tools/rego_style.py $(REGO_DIR)
	@$(PY) tools/rego_style.py $(SYSTEM_DIR)

test: setup fleet-deps fmt-check check style rego-test pytest ## every test: fmt check, opa check --strict, style, opa test + coverage, pytest (with the short fleet test)

lint: fmt-check check style regal ## Regal when it can be built, plus opa check --strict and opa fmt
	@if [ -x $(REGAL) ]; then $(REGAL) lint --config-file .regal/config.yaml $(REGO_DIR); \
	else echo "lint: Regal is not installed ($$(tail -n 1 .tools/regal-install.log 2>/dev/null || echo 'see tools/install-regal.sh')); ran opa check --strict, opa fmt --fail and tools/rego_style.py instead"; fi

fmt: opa ## rewrite .rego files with opa fmt
	$(OPA) fmt --write $(REGO_DIR)

demo: setup data ## decide every example bundle with the embedded local OPA and print the table
	@$(VENV)/bin/model-router demo

bench: setup data ## benchmark harness (under five minutes); writes bench/results/latest.json
	@$(PY) -m bench

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
