# Two commands on a fresh machine: `make demo` and `make test`. Both set everything up first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint setup bench bench-quality bench-ceiling bench-scale bench-dask bench-memory bench-suite docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

demo: $(STAMP)
	$(BIN)/churn demo --out churn_demo

# lint first (ruff, configured in pyproject.toml), then the suite on every core (most tests use one)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n auto

docs: $(STAMP)
	$(BIN)/churn generate --out churn_output/docs_data --clients 300 --seed 7
	$(BIN)/churn features --data churn_output/docs_data --out docs/features.md

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_pipeline.py --clients 100000

# every generator profile x 3 seeds at 15k clients: the model against the baselines (no timing)
bench-quality: $(STAMP)
	$(BIN)/python benchmarks/bench_quality.py --profiles default,snapshot,sparse,interactions --seeds 1,2,3 \
		--clients 15000

# 100k / 1M / 3M clients (~50 events each): partitioned scoring vs DuckDB and LightGBM; run on a quiet machine
# the model against learners told the generator's answer, on the same features and rows (100,000 clients)
bench-ceiling: $(STAMP)
	$(BIN)/python benchmarks/bench_ceiling.py --clients 100000 --seeds 1,2,3

bench-scale: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_scale.py --sizes 100000,1000000,3000000 --runs 3 --partition-clients 250000 \
		--events-per-client 50 --work benchmarks/_work/scale --reuse

# Local vs --engine dask (a LocalCluster) on the same data: train on 50k clients, score 200k (~50 events each)
bench-dask: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_dask.py --clients 200000 --train-clients 50000 --events-per-client 50 --runs 3 \
		--work benchmarks/_work/dask --reuse

# peak memory of a score with a 1 MB client_id in every table against the same data without it (target 1.5x)
bench-memory: $(STAMP)
	$(BIN)/python benchmarks/bench_long_id.py --clients 10000

# the whole suite twice, as `make test` runs it: wall and CPU time on this machine (run it on a quiet one)
bench-suite: $(STAMP)
	$(BIN)/python benchmarks/bench_suite.py --repeat 2

clean:
	rm -rf churn_demo churn_output mlflow.db mlartifacts churn-error.log .pytest_cache build
