"""One value must not decide the memory a run needs (issue 16): a client_id of 1 MB in every table
used to take a score to 3.4 GB (64 KB) or past 20 GB (1 MB), because a step made a fixed-width text
array of distinct values x the longest value. Under an address-space limit the score must finish,
the long rows set aside with their reason. Memory figures against the same run without the long id
are measured by benchmarks/bench_long_id.py (RESULTS.md), not here."""

import os
import shutil

import pandas as pd

from pipeline.synth.altered import altered_copy, with_extra_row

LONG_ID = "x" * (1 << 20)  # 1 MB
ADDRESS_SPACE = 6 << 30  # 6 GiB of virtual memory: the whole CLI with MLflow, LightGBM and Arrow fits well within


def with_long_id(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """One more row under the long id (a ticket keeps an id of its own)."""
    return with_extra_row(frame, client_id=LONG_ID, ticket_id="long-id-ticket")


# `churn score <args>` as `forks` runs it (tests/conftest.py), in a process of its own forked rather than a new
# interpreter, its address space limited first (as subprocess's preexec_fn would): what the fork inherits from
# the process it is forked from (pytest, every test module collected, the command's modules) counts against
# the limit too, more than a new `churn` would have mapped by then
SCORE_LIMITED = ("import resource, sys\n"
                 f"resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE}, {ADDRESS_SPACE}))\n"
                 "from pipeline.cli import main\nsys.argv = ['churn', 'score', *sys.argv[1:]]\nmain()\n")


def test_a_1mb_client_id_in_every_table_scores_within_an_address_space_limit(trained_store, tmp_path, forks):
    data = tmp_path / "data"
    altered_copy(trained_store.data, data, with_long_id)
    env = {**os.environ, "MLFLOW_TRACKING_URI": trained_store.tracking_uri}
    done = forks.run(SCORE_LIMITED, ["--data", data, "--out", tmp_path / "risk", "--model", trained_store.model_uri],
                     tmp_path, env, timeout=600)
    assert done.returncode in (0, 2), done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    if done.returncode == 0:
        for table in ("clients", "events"):
            set_aside = pd.read_csv(tmp_path / "risk" / "quarantine" / f"{table}.csv", dtype=str)
            long = set_aside[set_aside["client_id"].str.len() == len(LONG_ID)]
            assert len(long) == 1 and "max_text_length" in long["reason"].iloc[0], table
        listed = pd.read_parquet(tmp_path / "risk" / "current" / "scores.parquet", columns=["client_id"])
        assert listed["client_id"].str.len().max() < 100
    shutil.rmtree(data)
