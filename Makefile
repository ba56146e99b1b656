# The course's commands. Each one creates .venv and installs what it needs on first use.
#   make course   execute every notebook in order (profile: $ECG_PROFILE, default standard)
#   make test     ruff, unit tests, and every notebook through nbval in the quick profile
#   make lab      JupyterLab on notebooks/
#   make app      the prediction app as a web page (Voila) on http://localhost:$(APP_PORT)
#   make book     the notebooks executed by `make course` as a static site in build/book
#   make figure   the pipeline figure of the README (docs/pipeline.png) from real data
#   make data     fetch and verify all of MIT-BIH into data/mitdb
#   make experiments  compute the named experiments (the tables that take many models) for
#                 $(PROFILE) into ecgutils/resources/results, then write the README's tables from
#                 them; EXPERIMENTS="variants ablation" for some (default all). Hours in standard.
#   make lock     refresh requirements.lock: the newest versions pyproject.toml allows, resolved
#                 in a throwaway venv and written with their exact versions (commit it once
#                 `make test` passes with it)
# MIT-BIH comes from $MITDB_SOURCE (a local copy) when set, else from PhysioNet.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BUILD  ?= build
PROFILE ?= $(or $(ECG_PROFILE),standard)

APP_PORT ?= 8866

LOCK   := requirements.lock

.PHONY: install data course test lint unit nb lab app book figure clean lock experiments student export

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when pyproject.toml or the lock changes; every package, transitive ones too,
# at the version requirements.lock names. Then makes sure exactly one OpenCV wheel
# provides cv2: a headless wheel pulled in beside opencv-python would overwrite its files.
$(STAMP): pyproject.toml $(LOCK) | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(LOCK) -e '.[test]'
	@if $(PY) -m pip list 2>/dev/null | grep -qiE '^opencv-(contrib-)?python-headless '; then \
	  echo "A headless OpenCV wheel was installed beside opencv-python: removing it."; \
	  $(PY) -m pip uninstall --quiet -y opencv-python-headless opencv-contrib-python-headless; \
	  $(PY) -m pip install --quiet --force-reinstall --no-deps opencv-python; \
	fi
	$(PY) -c "import cv2, biosppy.signals.ecg, wfdb, tensorflow, ecgutils" 2>/dev/null
	touch $@

install: $(STAMP)

data: install
	$(PY) -m ecgutils fetch

EXPERIMENTS ?= all

experiments: install
	$(PY) -m ecgutils fetch --profile $(PROFILE)
	$(PY) -m ecgutils experiment run $(EXPERIMENTS) --profile $(PROFILE)
	$(PY) -m ecgutils experiment readme

course: install
	$(PY) -m ecgutils fetch --profile $(PROFILE)
	$(PY) -m ecgutils course --profile $(PROFILE) --out $(BUILD)

# Student copies of the chapters: every exercise and stub, no solutions, no outputs.
student: install
	$(PY) -m ecgutils student --out $(BUILD)/student

# Copy the code the chapters define (cells opening with `#| export ecgutils.MODULE`) into
# ecgutils; `make export CHECK=1` only lists where chapters and package differ.
export: install
	$(PY) -m ecgutils export $(if $(CHECK),--check,)

lint: install
	$(PY) -m ruff check ecgutils tests
	$(PY) -m ruff format --check ecgutils tests

# Unit tests on two workers, a test file each at a time (the store's lock lets them share
# trained models): 2.9 instead of 4.7 minutes. The notebooks run one at a time: two at once
# fight over the two cores (scikit-learn's OpenMP threads spin), 9.2 minutes instead of 8.8.
# JOBS=0 runs the unit tests in one process.
JOBS ?= 2

# OMP_NUM_THREADS=1: one OpenMP thread per worker; scikit-learn's trees on two threads beside a
# TensorFlow worker spin-wait for the busy core (a 40-second fit took 4 minutes).
unit: install
	ECG_PROFILE=quick $(if $(filter 0 1,$(JOBS)),,OMP_NUM_THREADS=1) $(PY) -m pytest -n $(JOBS) --dist loadfile --durations=20 tests

nb: install
	ECG_PROFILE=quick $(PY) -m pytest --durations=20 --nbval-lax -p no:cacheprovider notebooks

# Each part timed; the run ends with the times and this machine's speed (models.time_per_image).
test: install
	@t0=$$(date +%s); \
	$(MAKE) --no-print-directory lint && t1=$$(date +%s) && \
	$(MAKE) --no-print-directory unit && t2=$$(date +%s) && \
	$(MAKE) --no-print-directory nb && t3=$$(date +%s) && \
	$(PY) -m ecgutils speed --phases "lint=$$((t1 - t0)) unit=$$((t2 - t1)) notebooks=$$((t3 - t2))"

lab: install
	$(VENV)/bin/jupyter lab notebooks/

app: install
	$(PY) -m ecgutils app --port $(APP_PORT)

book: install
	$(PY) -m ecgutils book --build $(BUILD)

figure: install
	$(PY) -m ecgutils fetch --records 207
	$(PY) -m ecgutils figure pipeline --out docs/pipeline.png

lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e '.[test]'
	{ echo "# Exact versions CI passed with (pip constraints; make install uses them). Refresh: make lock"; \
	  .venv-lock/bin/python -c "import platform, sys; print(f'# Python {platform.python_version()} on {sys.platform} {platform.machine()}')"; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | LC_ALL=C sort -f; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf .venv-lock
	@echo "Wrote $(LOCK); run make test, then commit it."

clean:
	rm -rf $(BUILD) .pytest_cache .ruff_cache
