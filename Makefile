# The book in two commands, on a fresh Linux or macOS machine with Python >= 3.10:
#
#   make book     # create (or reuse) .venv, install, build the book -> _build/html/index.html
#   make test     # create (or reuse) .venv, install, run the tests at CI scale
#
# Without an NVIDIA GPU, PyTorch comes from PyTorch's CPU wheel index (a few hundred MB instead of several GB of
# CUDA libraries). VENV=path uses another environment; PYTHON=python3.12 another interpreter.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0
CPU_INDEX := https://download.pytorch.org/whl/cpu
STAMP := $(VENV)/.restorelib-installed

.PHONY: install book book-ci test clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	if command -v nvidia-smi >/dev/null 2>&1; then $(BIN)/python -m pip install --quiet "$(TORCH)"; \
	else $(BIN)/python -m pip install --quiet "$(TORCH)" --extra-index-url $(CPU_INDEX) --retries 0 --timeout 30; fi
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

book: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" jupyter-book build .

book-ci: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" RESTORELIB_FAST=1 jupyter-book build . -W -n --keep-going

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" RESTORELIB_FAST=1 MPLBACKEND=Agg pytest

clean:
	rm -rf _build
