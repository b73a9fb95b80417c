# make test   the linter, then every test: backend, add-on core, the farm job types, the extension in
#             headless Blender 5.0, 4.5 LTS and 4.2 LTS, every tool's dry run, and the demo
# make demo   a small animated scene inbetweened through the real add-on and backend (out/demo/)
# make build  the extension zip, built by Blender's own tool (build/mpd_inbetween.zip)
# Each target creates the environments it needs from requirements/ on a fresh machine.
PYTHON ?= python3.11
BACKEND := .venv
BLENDER50 := .venv-blender50
BLENDER45 := .venv-blender45
BLENDER42 := .venv-blender42
TINY_MODEL := build/tiny-svd
EXT_TOOL := $(BLENDER50)/lib/python3.11/site-packages/bpy/5.0/scripts/addons_core/bl_pkg/cli/blender_ext.py
PYTEST_ARGS ?=
BLENDER_TEST_ENV = MPD_BACKEND_PYTHON=$(CURDIR)/$(BACKEND)/bin/python MPD_TEST_MODEL=$(CURDIR)/$(TINY_MODEL)

.PHONY: test lint check-node test-backend test-blender test-blender-5.0 test-blender-4.5 test-blender-4.2 demo build bench \
	bench-gpu bench-serve-memory bench-quality bench-first-step clean

test: lint test-backend test-blender demo

# The farm tests run the Flamenco job type under Node.js.
check-node:
	@command -v node >/dev/null || { echo "error: Node.js (node) is not on the PATH: the Flamenco job type's tests need it (Node 18 or later)"; exit 1; }
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' || { echo "error: Node.js $$(node --version) is too old: the Flamenco job type's tests need Node 18 or later"; exit 1; }

lint: $(BACKEND)/.installed
	$(BACKEND)/bin/python -m ruff check .

test-backend: $(BACKEND)/.installed check-node
	$(BACKEND)/bin/python -m pytest tests/backend tests/core tests/farm $(PYTEST_ARGS)

test-blender: test-blender-5.0 test-blender-4.5 test-blender-4.2

test-blender-5.0: $(BLENDER50)/.installed $(BACKEND)/.installed $(TINY_MODEL)/model_index.json
	$(BLENDER_TEST_ENV) $(BLENDER50)/bin/python -m pytest tests/blender -p no:cacheprovider $(PYTEST_ARGS)

test-blender-4.5: $(BLENDER45)/.installed $(BACKEND)/.installed $(TINY_MODEL)/model_index.json
	$(BLENDER_TEST_ENV) $(BLENDER45)/bin/python -m pytest tests/blender -p no:cacheprovider $(PYTEST_ARGS)

test-blender-4.2: $(BLENDER42)/.installed $(BACKEND)/.installed $(TINY_MODEL)/model_index.json
	$(BLENDER_TEST_ENV) $(BLENDER42)/bin/python -m pytest tests/blender -p no:cacheprovider $(PYTEST_ARGS)

demo: $(BLENDER50)/.installed $(BACKEND)/.installed build/mpd_inbetween.zip
	MPD_BACKEND_PYTHON=$(CURDIR)/$(BACKEND)/bin/python $(BLENDER50)/bin/python -m tools.demo out/demo

build: build/mpd_inbetween.zip

# Not part of make test: each sampler's cost on the real SVD-XT architecture with random weights
# (built once in build/svd-xt-random, 4.2 GiB), docs/bench-cpu.md and .png; about 35 min on 2 cores.
bench: $(BACKEND)/.installed
	$(BACKEND)/bin/python -m tools.bench_samplers --device cpu --size 256x144 --frames 8

# The GPU kit (docs/bench-gpu.md and .png), in an environment with CUDA torch: at 1024x576x25 in fp16
# the CFG-pair UNet call, every sampler's shot, TFLOP/s against the card's peak, peak memory,
# torch.compile, the speed measures, and low-VRAM mode under a 12 GiB cap; within 9 min on one H100
# (sections that would start after 7 min are skipped and listed). Its dry run is in make test, as is every tool's.
GPU_PYTHON ?= $(BACKEND)/bin/python
bench-gpu:
	$(GPU_PYTHON) -m tools.bench_samplers --device cuda --dtype float16 --size 1024x576 --frames 25 --label gpu \
		--cap-gib 12 --compile --budget-s 420

# Not part of make test: the flow engine now and before, and a cross-fade, against true frames of real
# clips and Blender shots (docs/quality.md, quality.png, quality-middle.png). The shots are rendered
# once into build/ (about 5 min); the comparison takes about 10 min on 2 cores.
bench-quality: $(BACKEND)/.installed $(BLENDER50)/.installed $(TINY_MODEL)/model_index.json
	rm -rf build/ball-sequence
	$(BLENDER50)/bin/python -m tools.render_sequence build/ball-sequence 33 >/dev/null
	$(BLENDER50)/bin/python -m tools.render_shots build/shots 33 >/dev/null
	$(BLENDER50)/bin/python -m tools.render_shots build/shots-full-hd 97 --shot large-move --size 1920x1080 --only 1 13 25 37 49 >/dev/null
	$(BACKEND)/bin/python -m tools.bench_quality build/ball-sequence build/shots --full-hd build/shots-full-hd/large-move
	$(BACKEND)/bin/python -m tools.bench_chains build/ball-sequence build/shots --tiny-model $(TINY_MODEL)

# Not part of make test: time from a Generate click to the first denoising step, first and second job
# in one Blender session (docs/architecture.md); FIRST_STEP_MODEL=build/svd-xt-random for the real
# architecture (made by make bench).
FIRST_STEP_MODEL ?= $(TINY_MODEL)
FIRST_STEP_ARGS ?= --size 64x64
bench-first-step: $(BLENDER50)/.installed $(BACKEND)/.installed $(TINY_MODEL)/model_index.json
	MPD_BACKEND_PYTHON=$(CURDIR)/$(BACKEND)/bin/python $(BLENDER50)/bin/python -m tools.bench_first_step --model $(FIRST_STEP_MODEL) $(FIRST_STEP_ARGS)

# Not part of make test: the serve worker's memory over 20 jobs (docs/worker.md).
bench-serve-memory: $(BACKEND)/.installed
	$(BACKEND)/bin/python -m tools.bench_serve_memory 20

build/mpd_inbetween.zip: $(BLENDER50)/.installed $(shell git ls-files 2>/dev/null | grep -v '^tests/')
	mkdir -p build
	$(BLENDER50)/bin/python $(EXT_TOOL) validate .
	$(BLENDER50)/bin/python $(EXT_TOOL) build --source-dir . --output-filepath $@

$(TINY_MODEL)/model_index.json: $(BACKEND)/.installed mpd_testing/tiny.py
	rm -rf $(TINY_MODEL)
	$(BACKEND)/bin/python -m mpd_testing tiny-model $(TINY_MODEL) >/dev/null

# torch first and alone: a CPU wheel of exactly the pinned version is served locally; an unpinned
# or newer torch pulls several GB of CUDA packages.
$(BACKEND)/.installed: requirements/torch-cpu.txt requirements/backend.txt requirements/no-deps.txt requirements/test.txt requirements/bench.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is needed)"; exit 1; }
	$(PYTHON) -m venv $(BACKEND)
	$(BACKEND)/bin/python -m pip install -q --upgrade pip
	$(BACKEND)/bin/python -m pip install -q -r requirements/torch-cpu.txt
	$(BACKEND)/bin/python -m pip install -q -r requirements/backend.txt -r requirements/test.txt -r requirements/bench.txt
	$(BACKEND)/bin/python -m pip install -q --no-deps -r requirements/no-deps.txt
	touch $@

$(BLENDER50)/.installed: requirements/blender-5.0.txt
	$(PYTHON) -m venv $(BLENDER50)
	$(BLENDER50)/bin/python -m pip install -q -r requirements/blender-5.0.txt
	touch $@

$(BLENDER45)/.installed: requirements/blender-4.5.txt
	$(PYTHON) -m venv $(BLENDER45)
	$(BLENDER45)/bin/python -m pip install -q -r requirements/blender-4.5.txt
	touch $@

$(BLENDER42)/.installed: requirements/blender-4.2.txt
	$(PYTHON) -m venv $(BLENDER42)
	$(BLENDER42)/bin/python -m pip install -q -r requirements/blender-4.2.txt
	touch $@

clean:
	rm -rf $(BACKEND) $(BLENDER50) $(BLENDER45) $(BLENDER42) build out .pytest_cache
