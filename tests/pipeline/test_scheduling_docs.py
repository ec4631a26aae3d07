"""The scheduling examples in docs/scheduling/ stay runnable: Airflow and Kubernetes cannot run here, so
the YAML is loaded, the DAG compiled and read, the cron wrapper checked by `bash -n` (and run once for
real on a failing night), and every `churn score` flag they use goes through the real command's parser."""

from __future__ import annotations

import ast
import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "scheduling"
WRAPPER = DOCS / "churn-nightly.sh"
SCHEDULE = "30 2 * * *"


def _score_command():
    import typer

    from pipeline.cli import app

    return typer.main.get_command(app).commands["score"]


def _accepted(args: list[str]) -> None:
    """`churn score ARGS` parses with the real command (click's parser, nothing run), and every flag used
    is listed by `churn score --help`."""
    flags = [a for a in args if a.startswith("--")]
    help_text = _score_help()
    assert flags and all(re.search(rf"{flag}\b", help_text) for flag in flags), (flags, help_text)
    _score_command().make_context("score", list(args))


@functools.cache
def _score_help() -> str:
    from typer.testing import CliRunner

    from pipeline.cli import app

    done = CliRunner().invoke(app, ["score", "--help"], env={"COLUMNS": "160", "NO_COLOR": "1"})
    assert done.exit_code == 0, done.output
    return done.output


def _placeholders(flags: list[str]) -> list[str]:
    """Flags as found in a script, each given a value of the right arity for the parser."""
    options = {opt: p for p in _score_command().params for opt in p.opts}
    args = []
    for flag in flags:
        assert flag in options, f"churn score has no {flag}"
        args += [flag] if options[flag].is_flag else [flag, "1"]
    return args


def _wrapper_flags() -> list[str]:
    line = next(line for line in WRAPPER.read_text(encoding="utf-8").splitlines()
                if re.match(r'\s*"\$CHURN" score ', line))
    return re.findall(r"--[a-z][a-z-]*", line)


def test_the_wrapper_is_valid_bash_and_its_churn_score_line_parses():
    done = subprocess.run(["bash", "-n", str(WRAPPER)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    flags = _wrapper_flags()
    assert {"--data", "--out", "--json"} <= set(flags)
    _accepted(_placeholders(flags))


def test_the_cron_line_runs_the_wrapper_nightly_with_flags_churn_accepts():
    lines = [line for line in (DOCS / "crontab").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#") and "=" not in line.split()[0]]
    assert len(lines) == 1, lines
    fields = lines[0].split()
    assert " ".join(fields[:5]) == SCHEDULE and fields[5].endswith("/churn-nightly.sh")
    extra = fields[6:fields.index(">>")]
    assert extra == ["--capacity", "2000"]
    _accepted(_placeholders(_wrapper_flags()) + extra)


def test_the_cronjob_yaml_runs_the_wrapper_and_reads_its_exit_codes():
    docs = [d for d in yaml.safe_load_all((DOCS / "cronjob.yaml").read_text(encoding="utf-8")) if d]
    (cronjob,) = [d for d in docs if d["kind"] == "CronJob"]
    assert cronjob["apiVersion"] == "batch/v1"
    spec = cronjob["spec"]
    assert spec["schedule"] == SCHEDULE and spec["concurrencyPolicy"] == "Forbid"
    job = spec["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["restartPolicy"] == "Never"
    # 2 (bad input) and 3 (a gate) fail the Job at once; 1 (unexpected) gets the one retry
    (fail,) = [r for r in job["podFailurePolicy"]["rules"] if r["action"] == "FailJob"]
    assert fail["onExitCodes"] == {"containerName": container["name"], "operator": "In", "values": [2, 3]}
    assert job["backoffLimit"] == 1
    # the command is the wrapper, mounted from a ConfigMap made of this very file
    script = container["command"][-1]
    mount = next(m for m in container["volumeMounts"] if script.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["items"] == [{"key": WRAPPER.name, "path": Path(script).name}]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert {"CHURN_DATA", "CHURN_OUT", "MLFLOW_TRACKING_URI"} <= set(env)
    _accepted(_placeholders(_wrapper_flags()) + container["args"])


def _dag_tree() -> ast.Module:
    source = (DOCS / "airflow_churn_nightly.py").read_text(encoding="utf-8")
    compile(source, "airflow_churn_nightly.py", "exec")  # no airflow import needed to compile
    return ast.parse(source)


def test_the_airflow_dag_compiles_skips_on_a_gate_and_scores_with_flags_churn_accepts():
    tree = _dag_tree()
    constants = {node.targets[0].id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant)}
    gate_exit = {t.id: e.value for node in tree.body if isinstance(node, ast.Assign)
                 and isinstance(node.targets[0], ast.Tuple) and isinstance(node.value, ast.Tuple)
                 for t, e in zip(node.targets[0].elts, node.value.elts)}
    assert gate_exit == {"EXIT_GATE": 3, "EXIT_BAD_INPUT": 2}
    args_node = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                     and getattr(node.targets[0], "id", "") == "SCORE_ARGS")
    args = [constants[e.id] if isinstance(e, ast.Name) else e.value for e in args_node.elts]
    assert args[0] == "score"
    _accepted([str(a) for a in args[1:]])

    calls = {getattr(n.func, "id", ""): {k.arg: k.value for k in n.keywords}
             for n in ast.walk(tree) if isinstance(n, ast.Call)}
    dag, bash, check = calls["DAG"], calls["BashOperator"], calls["PythonOperator"]
    assert ast.literal_eval(dag["schedule"]) == SCHEDULE and ast.literal_eval(dag["max_active_runs"]) == 1
    assert [e.id for e in bash["skip_on_exit_code"].elts] == ["EXIT_GATE"]
    assert "SCORE_ARGS" in ast.unparse(bash["bash_command"]) and "CHURN" in ast.unparse(bash["bash_command"])
    assert ast.literal_eval(check["trigger_rule"]) == "all_done"


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_the_wrapper_passes_churns_exit_code_through_and_reads_this_runs_manifest(
        generated_data, new_store, tmp_path):
    churn = Path(sys.executable).with_name("churn")
    out = tmp_path / "risk"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "CHURN": str(churn),
           "PYTHON": sys.executable, "CHURN_DATA": str(generated_data), "CHURN_OUT": str(out),
           "MLFLOW_TRACKING_URI": new_store(tmp_path / "mlflow.db")}

    # an empty store: churn starts, writes its manifest (failed, exit 2) and the wrapper reads it
    done = subprocess.run(["bash", str(WRAPPER)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "BAD INPUT OR CONFIG, nothing published: status failed (exit 2)" in done.stdout
    assert "cannot load model 'models:/churn@champion'" in done.stdout

    # a flag churn refuses: no manifest of this run, and the wrapper does not pass off the last one as it
    done = subprocess.run(["bash", str(WRAPPER), "--capacity", "0"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2
    assert "no manifest from this run" in done.stdout and "--capacity" in done.stderr
