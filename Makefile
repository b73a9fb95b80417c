# make test: create the backend environment from requirements/ and run every test.
# make demo: generate inbetweens of two keyframes with the tiny untrained model (no weights needed).
PYTHON ?= python3.11
VENV := .venv
BACKEND_PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: test test-backend demo env clean

env: $(VENV)/.installed

# torch is installed first and alone: a CPU wheel of exactly the pinned version is served locally;
# an unpinned or newer torch pulls several GB of CUDA packages.
$(VENV)/.installed: requirements/torch-cpu.txt requirements/backend.txt requirements/test.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is needed)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BACKEND_PY) -m pip install -q --upgrade pip
	$(BACKEND_PY) -m pip install -q -r requirements/torch-cpu.txt
	$(BACKEND_PY) -m pip install -q -r requirements/backend.txt -r requirements/test.txt
	touch $@

test: env
	$(BACKEND_PY) -m pytest tests $(PYTEST_ARGS)

demo: env
	$(BACKEND_PY) tools/demo_backend.py out/demo

clean:
	rm -rf $(VENV) out build .pytest_cache
