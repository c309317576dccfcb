# aiida-polyinf: `make demo` and `make test` are the two entry points (see README.md).
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
BIN     := $(abspath $(VENV))/bin
PROFILE ?= polyinf
export PATH := $(BIN):$(PATH)

.PHONY: demo test install system-deps services clean-demo

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,ml-gnn]'
	$(PY) -m pip check
	touch $@

system-deps:
	bash setup/system-deps.sh

install: system-deps $(VENV)/.installed

## PostgreSQL and RabbitMQ (scale-out profile), sshd on 127.0.0.1:2222 and a one-node Slurm (the mdx-test computer of
## the tests): installs the Debian packages if missing; root/sudo.
services:
	bash setup/services.sh start

## Install everything, create the embedded profile and run a small campaign end to end.
demo: install
	polyinf setup --profile-name $(PROFILE)
	polyinf -p $(PROFILE) run examples/demo.csv --protocol fast --wait
	polyinf -p $(PROFILE) status --group polyinf/demo
	$(PY) benchmarks/stage_times.py --profile $(PROFILE) --group polyinf/demo --out demo_stage_times.json
	verdi -p $(PROFILE) process list -a -p 1

## Install the dev extras, start PostgreSQL + RabbitMQ and run the whole test suite.
test: install services
	@$(PY) -m pytest tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo 'pytest collected no tests: that is a failure here' >&2; fi; exit $$rc
