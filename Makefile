# petool: the whole set-up is `make reproduce` or `make test` on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= offline
STAMP  := $(VENV)/.installed

.PHONY: help install test reproduce lab report clean

help:
	@echo "make reproduce   set up .venv and run the $(PROFILE) profile (reports in reports/$(PROFILE)/)"
	@echo "make test        set up .venv and run the test suite"
	@echo "make report      rebuild reports/$(PROFILE)/index.html from the last run"
	@echo "make lab         JupyterLab on notebooks/"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: pip takes the CPU build on disk instead of a multi-GB CUDA download
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[train,test]"
	$(PY) -m ipykernel install --user --name petool --display-name "petool (.venv)" >/dev/null
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -q $(PYTEST_ARGS)

reproduce: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/petool run --profile $(PROFILE)
	@echo "Report: reports/$(PROFILE)/index.html"

report: $(STAMP)
	$(VENV)/bin/petool run --profile $(PROFILE) --index-only

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf runs reports/*/ .pytest_cache
