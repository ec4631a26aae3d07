"""Generator profiles: the default world's bytes kept, every profile reproducible and in the contract,
and each profile's own shape (a snapshot extract, a sparse log, churn from interactions)."""

import hashlib
import json
import os
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pipeline.data.contract import load_folder
from pipeline.synth.generator import DEFAULT_END, generate
from pipeline.synth.profiles import PROFILES, profile_named

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "default_profile_sha256.json"
SMALL = {"n_clients": 300, "seed": 5, "months": 6}


def _sha256(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}


def _day(value) -> pd.Series:
    return pd.to_datetime(value)


def test_default_profile_writes_the_bytes_recorded_before_profiles(tmp_path: Path) -> None:
    recorded = json.loads(FIXTURE.read_text())
    generate(tmp_path / "named", **recorded["arguments"], profile="default")
    generate(tmp_path / "implicit", **recorded["arguments"])
    assert _sha256(tmp_path / "named") == recorded["sha256"]
    assert _sha256(tmp_path / "implicit") == recorded["sha256"]


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_profile_is_reproducible_and_in_the_contract(tmp_path: Path, profile: str) -> None:
    first = generate(tmp_path / "a", **SMALL, profile=profile)
    generate(tmp_path / "b", **SMALL, profile=profile)
    assert _sha256(tmp_path / "a") == _sha256(tmp_path / "b")
    assert set(_sha256(tmp_path / "a")) == {f"{name}.parquet" for name in first}
    loaded = load_folder(tmp_path / "a", quarantine_dir=None, max_rejected_share=0.0, require_churn=True)
    assert all(report.rows_quarantined == 0 for report in loaded.reports.values())
    truth = pd.read_parquet(tmp_path / "a" / "truth.parquet")
    assert list(truth.columns) == ["client_id", "as_of", "p_true"]
    assert len(truth) and truth["p_true"].between(0, 1).all()
    generate(tmp_path / "c", **{**SMALL, "seed": 6}, profile=profile)
    assert _sha256(tmp_path / "c")["clients.parquet"] != _sha256(tmp_path / "a")["clients.parquet"]


# generates every profile and prints {profile: {file: sha256}}: run with numpy's SIMD paths switched off
HASH_EVERY_PROFILE = """
import hashlib, json, sys
from pathlib import Path
from pipeline.synth.generator import generate
from pipeline.synth.profiles import PROFILES
found = {}
for name in PROFILES:
    out = Path(sys.argv[1]) / name
    generate(out, n_clients=2000, seed=3, months=6, profile=name)
    found[name] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*"))}
print(json.dumps(found))
"""


def test_the_same_seed_writes_the_same_bytes_on_every_cpu(tmp_path: Path) -> None:
    """numpy picks a sort and exp, expm1 and log1p by the CPU (AVX-512 here, AVX2 on earlier machines):
    an unstable sort ordered events of one client in one second differently, and probabilities differed
    in the last bit. The files this machine writes with its SIMD paths equal those written with every
    path above numpy's baseline switched off (on a machine without them both runs take the same path)."""
    import subprocess
    import sys

    from numpy._core import _multiarray_umath as simd

    above_baseline = [name for name in simd.__cpu_dispatch__ if simd.__cpu_features__.get(name)]
    runs = {}
    for label, disabled in (("native", ""), ("baseline", " ".join(above_baseline))):
        env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": disabled, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-c", HASH_EVERY_PROFILE, str(tmp_path / label)], env=env,
                              capture_output=True, text=True, timeout=300, check=True)
        runs[label] = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(runs["native"]) == set(PROFILES)
    assert runs["native"] == runs["baseline"]


def test_an_unknown_profile_is_refused_with_the_names() -> None:
    with pytest.raises(ValueError, match="profiles: default, snapshot, sparse, interactions"):
        profile_named("telco")


# --- snapshot -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("snapshot")
    generate(out, n_clients=3000, seed=2, profile="snapshot")
    return out


def test_snapshot_is_one_extract_without_an_activity_log(snapshot: Path) -> None:
    assert sorted(p.stem for p in snapshot.glob("*.parquet")) == ["churn", "clients", "truth"]
    truth = pd.read_parquet(snapshot / "truth.parquet")
    assert set(truth["as_of"]) == {DEFAULT_END}
    clients = pd.read_parquet(snapshot / "clients.parquet")
    assert len(truth) == len(clients) and truth["client_id"].is_unique
    assert (clients["signup_date"] < DEFAULT_END).all()
    assert set(clients["contract"]) == {"Month-to-month", "One year", "Two year"}
    for column in ("total_charges", "internet_service", "phone_service", "streaming_tv", "tech_support",
                   "online_security", "paperless_billing", "payment_method", "senior_citizen", "partner",
                   "dependents"):
        assert column in clients, column


def test_snapshot_churn_falls_in_the_30_days_after_the_extract(snapshot: Path) -> None:
    churn = pd.read_parquet(snapshot / "churn.parquet")
    days = (_day(churn["churned_at"]) - pd.Timestamp(DEFAULT_END)).dt.days
    assert days.between(1, 30).all() and churn["client_id"].is_unique
    share = len(churn) / 3000
    assert 0.19 <= share <= 0.27
    truth = pd.read_parquet(snapshot / "truth.parquet")
    assert truth["p_true"].mean() == pytest.approx(share, abs=0.03)
    label = truth["client_id"].isin(churn["client_id"])
    assert roc_auc_score(label, truth["p_true"]) > 0.75


# --- sparse -------------------------------------------------------------------------------

SPARSE_CLIENTS = 15_000
MAX_EVENTS_PER_CLIENT_MONTH = 4.0  # a handful a month or fewer (the default world: about 19)


def test_sparse_log_is_thin_and_churn_is_low(tmp_path: Path) -> None:
    counts = generate(tmp_path, n_clients=SPARSE_CLIENTS, seed=4, profile="sparse")
    truth = pd.read_parquet(tmp_path / "truth.parquet")
    # a client counted once per month-end it is active at: its active months
    assert counts["events"] / len(truth) < MAX_EVENTS_PER_CLIENT_MONTH
    assert counts["surveys"] / len(truth) < 0.1 and counts["tickets"] / len(truth) < 0.1
    churn = pd.read_parquet(tmp_path / "churn.parquet")
    last_month = (_day(churn["churned_at"]) >= pd.Timestamp(2025, 12, 1)).sum()
    assert 150 <= last_month <= 250
    active = (truth["as_of"] == date(2025, 11, 30)).sum()
    assert last_month / active < 0.025  # the default world loses about 3% a month


# --- interactions -------------------------------------------------------------------------

SLA_HOURS = {"low": 24, "medium": 8, "high": 4, "urgent": 1}


def _aggregates(folder: Path, cutoffs: list[pd.Timestamp]) -> pd.DataFrame:
    """Simple per-client figures at each cutoff, with the 30-day label."""
    read = {name: pd.read_parquet(folder / f"{name}.parquet")
            for name in ("clients", "events", "tickets", "surveys", "truth", "churn")}
    events, tickets, surveys = read["events"], read["tickets"], read["surveys"]
    late = (tickets["first_response_at"] - tickets["opened_at"]).dt.total_seconds() / 3600
    tickets = tickets.assign(late=late.isna() | (late > tickets["priority"].map(SLA_HOURS)))
    churn = read["churn"].assign(churned_at=_day(read["churn"]["churned_at"]).dt.tz_localize("UTC"))
    truth = read["truth"].assign(as_of=_day(read["truth"]["as_of"]).dt.tz_localize("UTC"))
    frames = []
    for t in cutoffs:
        end = t + pd.Timedelta(days=1)
        rows = truth[truth["as_of"] == t].merge(read["clients"], on="client_id").merge(churn, on="client_id",
                                                                                        how="left")

        def count(frame: pd.DataFrame, column: str, days: int, rows=rows, end=end) -> np.ndarray:
            frame = frame[(frame[column] < end) & (frame[column] >= end - pd.Timedelta(days=days))]
            return rows["client_id"].map(frame.groupby("client_id").size()).fillna(0).to_numpy()

        last_score = surveys[surveys["answered_at"] < end].groupby("client_id")["score"].last()
        frames.append(pd.DataFrame({
            "client_id": rows["client_id"],
            "errors_60": count(events[events["event_type"] == "error"], "timestamp", 60),
            "logins_30": count(events[events["event_type"] == "login"], "timestamp", 30),
            "events_90": count(events, "timestamp", 90),
            "late_tickets_30": count(tickets[tickets["late"]], "opened_at", 30),
            "tickets_30": count(tickets, "opened_at", 30),
            "last_nps": rows["client_id"].map(last_score).fillna(7.5).to_numpy(),
            "tenure_days": (t.tz_localize(None) - _day(rows["signup_date"])).dt.days.to_numpy(),
            "basic": (rows["plan"] == "basic").to_numpy(dtype=float),
            "premium": (rows["plan"] == "premium").to_numpy(dtype=float),
            "annual": (rows["contract"] == "annual").to_numpy(dtype=float),
            "label": ((rows["churned_at"] >= end) & (rows["churned_at"] < end + pd.Timedelta(days=30))).astype(int),
        }))
    return pd.concat(frames, ignore_index=True)


def test_interactions_need_a_tree_model(tmp_path: Path) -> None:
    """A sanity check of the generator: a linear model on the same figures clearly loses to trees."""
    generate(tmp_path, n_clients=3000, seed=1, months=12, profile="interactions")
    as_of = sorted(_day(pd.read_parquet(tmp_path / "truth.parquet")["as_of"]).dt.tz_localize("UTC").unique())
    data = _aggregates(tmp_path, as_of[-9:-1])  # the last month-ends whose 30 days are all known
    held = data["client_id"].map(hash_share) < 0.3  # validate on clients never trained on
    columns = [c for c in data.columns if c not in ("client_id", "label")]
    train, valid = data[~held], data[held]
    assert valid["label"].sum() > 100
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(train[columns], train["label"])
    trees = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_leaf_nodes=15,
                                           random_state=0).fit(train[columns], train["label"])
    linear_auc = roc_auc_score(valid["label"], linear.predict_proba(valid[columns])[:, 1])
    trees_auc = roc_auc_score(valid["label"], trees.predict_proba(valid[columns])[:, 1])
    assert trees_auc > 0.72
    print(f"interactions: logistic regression {linear_auc:.3f}, trees {trees_auc:.3f}")
    assert trees_auc - linear_auc > 0.05, (linear_auc, trees_auc)


def hash_share(client_id: str) -> float:
    return int(hashlib.sha256(client_id.encode()).hexdigest()[:8], 16) / 16**8


# --- command line -------------------------------------------------------------------------


# `churn <args>`, as `forks` runs it (tests/conftest.py): the real command in a process of its own (its exit
# code, and all it writes on stderr), forked rather than a new interpreter
CHURN = "import sys\nfrom pipeline.cli import main\nsys.argv = ['churn', *sys.argv[1:]]\nmain()\n"


def test_cli_generates_a_profile(tmp_path: Path, churn_here) -> None:
    # in this process (tests/conftest.py): what the command writes is the point, not its process
    done = churn_here(["generate", "--profile", "snapshot", "--out", str(tmp_path / "x"), "--clients", "300",
                       "--json"], tmp_path, {**os.environ, "PYTHONPATH": str(ROOT)})
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["profile"] == "snapshot" and result["rows"]["clients"] == 300
    assert sorted(p.stem for p in (tmp_path / "x").glob("*.parquet")) == ["churn", "clients", "truth"]


def test_cli_refuses_an_unknown_profile_in_one_line(tmp_path: Path, forks) -> None:
    done = forks.run(CHURN, ["generate", "--profile", "telco", "--out", str(tmp_path / "x"), "--clients", "300"],
                     tmp_path, dict(os.environ))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: --profile: 'telco' is not one of default, snapshot, sparse, interactions"]
    assert not (tmp_path / "x").exists()
