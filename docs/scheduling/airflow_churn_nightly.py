"""Airflow DAG: the nightly `churn score`, and a task that reads what the run says of itself.

`score` runs the command (BashOperator). Its exit code tells three outcomes apart:
- 0: published; the last stdout line (--json) goes to XCom.
- 3: a gate stopped the run (drift, a missing feature, realised performance). The previous list stays
  published, so this is not a failure of the pipeline: the task is marked *skipped*
  (`skip_on_exit_code`), and `check` reports the gate's reason.
- 2 (bad input or config) and 1 (unexpected): the task fails. No automatic retry: a bad extract does
  not fix itself, and a second list for the same day is a human decision.
`check` runs whatever `score` did (trigger_rule all_done) and reads <out>/manifest.json: it fails
with the manifest's error for 2 (AirflowFailException: the data owners' problem, with the
quarantine folder) and 1 (the engineers', with churn-error.log), and logs the gate for 3.

Copy into your DAGs folder and set the three constants (or Airflow Variables). On Kubernetes, the
same command runs in a KubernetesPodOperator (image with this project installed, cmds=["churn"],
arguments=SCORE_ARGS); the pod's exit code then plays the same role.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path

from airflow.exceptions import AirflowFailException, AirflowSkipException

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.6+
    from airflow import DAG
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import PythonOperator

CHURN = "/opt/churn/.venv/bin/churn"
DATA = "/data/extract"
OUT = "/srv/churn/risk"
MLFLOW_TRACKING_URI = "http://mlflow.internal:5000"

EXIT_GATE, EXIT_BAD_INPUT = 3, 2
SCORE_ARGS = ["score", "--data", DATA, "--out", OUT, "--capacity", "2000", "--json"]

log = logging.getLogger(__name__)


def check_manifest(**context) -> dict:
    """What the run says of itself: <out>/manifest.json, if this attempt wrote it."""
    started = context["dag_run"].start_date  # a manifest from an earlier night started before this run
    path = Path(OUT) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    fresh = started is not None and manifest.get("started_at", "") >= started.isoformat(timespec="seconds")[:19]
    if not fresh:
        raise AirflowFailException("churn wrote no manifest for this run: it stopped on a flag, the config or "
                                   "the lock before starting (see the score task's log)")
    status, code, error = manifest.get("status"), manifest.get("exit_code"), manifest.get("error", "")
    if status == "ok":
        log.info("published: %s of %s clients listed as of %s, model %s v%s", manifest.get("clients_listed"),
                 manifest.get("clients_scored"), manifest.get("as_of"), manifest.get("model_uri"),
                 manifest.get("model_version"))
        return {k: manifest.get(k) for k in ("as_of", "clients_scored", "clients_listed", "model_version")}
    if code == EXIT_GATE:
        log.warning("stopped by a gate, yesterday's list stays published: %s", error)
        raise AirflowSkipException(f"gate: {error}")
    if code == EXIT_BAD_INPUT:
        raise AirflowFailException(f"bad input or config: {error} (rows set aside: {OUT}/quarantine/)")
    raise AirflowFailException(f"unexpected (exit {code}, status {status}): {error} "
                               f"(traceback in {OUT}/churn-error.log)")


with DAG(
    dag_id="churn_nightly_score",
    schedule="30 2 * * *",  # 02:30 UTC: scores as of the day that just ended (latest day in the data)
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # one run per output folder (churn's lock would refuse a second one with exit 2)
    default_args={"owner": "churn", "retries": 0},
    tags=["churn"],
) as dag:
    score = BashOperator(
        task_id="score",
        bash_command=" ".join([CHURN, *SCORE_ARGS]),
        env={"MLFLOW_TRACKING_URI": MLFLOW_TRACKING_URI},
        append_env=True,
        cwd=OUT,  # churn-error.log (exit 1) lands beside the outputs
        skip_on_exit_code=[EXIT_GATE],
        execution_timeout=timedelta(hours=3),  # on timeout churn gets SIGTERM and records the run as failed
    )
    check = PythonOperator(task_id="check", python_callable=check_manifest, trigger_rule="all_done")
    score >> check
