# imputebench — every target creates .venv and installs the package on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# SDV 2 caps pandas below 3: the reference synthesizers live in their own environment.
SVENV  := .venv-synth
SBIN   := $(SVENV)/bin
SSTAMP := $(SVENV)/.installed-stamp
CONFIG ?= benchmarks/configs/default.toml

# Never let the repository root land on sys.path (DESIGN.md §2).
export PYTHONSAFEPATH := 1
# Tests and CI read the standard tables from ../shared/datasets when it is there.
ifneq ($(wildcard ../shared/datasets),)
export IMPUTEBENCH_DATA ?= $(abspath ../shared/datasets)
endif

.PHONY: help bench bench-knnxkde bench-vae bench-synth test test-synth lint report clean
help:  ## show this help
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "imputebench needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,torch,ray]"
	@touch $(STAMP)

$(SSTAMP): pyproject.toml
	$(PYTHON) -m venv $(SVENV)
	$(SBIN)/python -m pip install -q --upgrade pip
	$(SBIN)/python -m pip install -q -e ".[dev,torch,synth]"
	@touch $(SSTAMP)

bench: $(STAMP)  ## run the default benchmark (resumable) and write reports/default/
	$(BIN)/imputebench run $(CONFIG)

report: $(STAMP)  ## re-render the default report from its journal
	$(BIN)/imputebench report runs/default/journal.jsonl --out reports/default

test: lint  ## ruff + the test suite on CPU
	$(BIN)/pytest -q

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check .

clean:  ## remove the environment and run journals (not the committed reports)
	rm -rf $(VENV) $(SVENV) runs .pytest_cache .ruff_cache

bench-knnxkde: $(STAMP)  ## reproduce the kNNxKDE paper (full MCAR, 15 datasets; hours on 2 cores)
	$(BIN)/imputebench run knnxkde_paper

bench-vae: $(STAMP)  ## the VAE ablation: 6 priors x triplet off/on x beta, 3 bundled tables (~1 h on 2 cores)
	$(BIN)/imputebench run vae_ablation

bench-synth: $(SSTAMP)  ## generators compared as Pathare et al. 2023, SDV and a Bayesian network included (.venv-synth)
	$(SBIN)/imputebench run synth_2023

test-synth: $(SSTAMP)  ## the reference synthesizers' tests and contract, in .venv-synth (sdv, pgmpy)
	$(SBIN)/pytest -q -m synth
	$(SBIN)/pytest -q tests/test_contract.py -k "sdv_ or bayesian_network"
