"""The synthetic data generator: contract shape, time sanity, reproducibility, and a real signal."""

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from pipeline.synth.generator import DEFAULT_END, generate

N_CLIENTS = 2000
SEED = 7
TABLES = ("clients", "events", "surveys", "tickets", "churn", "truth")
UTC_MICROS = pa.timestamp("us", tz="UTC")
EXPECTED_SCHEMAS = {
    "clients": {
        "client_id": pa.string(),
        "signup_date": pa.date32(),
        "monthly_value": pa.float64(),
        "plan": pa.string(),
        "region": pa.string(),
        "contract": pa.string(),
        "seats": pa.int64(),
    },
    "events": {
        "client_id": pa.string(),
        "timestamp": UTC_MICROS,
        "event_type": pa.string(),
        "channel": pa.string(),
        "value": pa.float64(),
    },
    "surveys": {"client_id": pa.string(), "answered_at": UTC_MICROS, "score": pa.int64(), "comment": pa.string()},
    "tickets": {
        "ticket_id": pa.string(),
        "client_id": pa.string(),
        "opened_at": UTC_MICROS,
        "first_response_at": UTC_MICROS,
        "resolved_at": UTC_MICROS,
        "priority": pa.string(),
        "category": pa.string(),
        "satisfaction": pa.int64(),
    },
    "churn": {"client_id": pa.string(), "churned_at": pa.date32()},
    "truth": {"client_id": pa.string(), "as_of": pa.date32(), "p_true": pa.float64()},
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate(out, n_clients=N_CLIENTS, seed=SEED)
    return out


@pytest.fixture(scope="module")
def tables(folder: Path) -> dict[str, pd.DataFrame]:
    frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    # Dates as midnight UTC, so they compare with the timestamps: day T is [T, T+1).
    for name, column in [("clients", "signup_date"), ("churn", "churned_at"), ("truth", "as_of")]:
        frames[name][column] = pd.to_datetime(frames[name][column]).dt.tz_localize("UTC")
    return frames


def _day_after_end(end: date = DEFAULT_END) -> pd.Timestamp:
    return pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)


def _with_dates(frame: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    dates = tables["clients"][["client_id", "signup_date"]].merge(tables["churn"], on="client_id", how="left")
    return frame.merge(dates, on="client_id", how="left", validate="many_to_one")


def _labelled_truth(tables: dict[str, pd.DataFrame], horizon_days: int = 30) -> pd.DataFrame:
    """Truth rows whose whole horizon lies inside the data, with the realised label."""
    truth = tables["truth"].merge(tables["churn"], on="client_id", how="left")
    horizon = pd.Timedelta(days=horizon_days)
    truth = truth[truth["as_of"] + horizon < _day_after_end()]
    label = (truth["churned_at"] > truth["as_of"]) & (truth["churned_at"] <= truth["as_of"] + horizon)
    return truth.assign(label=label.astype(int))


# --- Reproducibility ----------------------------------------------------------------------


def test_same_seed_writes_identical_bytes(folder: Path, tmp_path: Path) -> None:
    generate(tmp_path, n_clients=N_CLIENTS, seed=SEED)
    for name in TABLES:
        assert (tmp_path / f"{name}.parquet").read_bytes() == (folder / f"{name}.parquet").read_bytes(), name


def test_different_seed_gives_different_data(folder: Path, tmp_path: Path) -> None:
    generate(tmp_path, n_clients=N_CLIENTS, seed=SEED + 1)
    for name in TABLES:
        assert not pq.read_table(tmp_path / f"{name}.parquet").equals(pq.read_table(folder / f"{name}.parquet")), name


def test_returns_row_count_of_every_written_table(tmp_path: Path) -> None:
    counts = generate(tmp_path / "new" / "folder", n_clients=300, seed=1, months=6)
    assert set(counts) == set(TABLES)
    for name, rows in counts.items():
        assert pq.read_metadata(tmp_path / "new" / "folder" / f"{name}.parquet").num_rows == rows, name
    assert counts["clients"] == 300


@pytest.mark.parametrize(("argument", "message"), [({"n_clients": 0}, "n_clients"), ({"months": 0}, "months")])
def test_rejects_an_empty_world(tmp_path: Path, argument: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(tmp_path, **argument)


# --- Contract shape -----------------------------------------------------------------------


@pytest.mark.parametrize("name", TABLES)
def test_table_has_contract_columns_and_types(folder: Path, name: str) -> None:
    schema = pq.read_schema(folder / f"{name}.parquet")
    assert {field.name: field.type for field in schema} == EXPECTED_SCHEMAS[name]


def test_client_ids_are_unique_zero_padded_strings(tables: dict[str, pd.DataFrame]) -> None:
    ids = tables["clients"]["client_id"]
    assert ids.is_unique
    assert ids.str.fullmatch(r"\d{7}").all()
    assert ids.iloc[0] == "0000001"


def test_every_table_refers_to_known_clients(tables: dict[str, pd.DataFrame]) -> None:
    known = set(tables["clients"]["client_id"])
    for name in ("events", "surveys", "tickets", "churn", "truth"):
        assert set(tables[name]["client_id"]) <= known, name


def test_client_attributes_are_plausible(tables: dict[str, pd.DataFrame]) -> None:
    clients = tables["clients"]
    assert (clients["monthly_value"] >= 0).all()
    assert set(clients["plan"]) == {"basic", "standard", "premium"}
    assert set(clients["contract"]) == {"monthly", "annual"}
    assert (clients["seats"] >= 1).all()


def test_some_clients_predate_the_window_and_others_join_during_it(tables: dict[str, pd.DataFrame]) -> None:
    signup = tables["clients"]["signup_date"]
    window_start = pd.Timestamp("2024-07-01", tz="UTC")
    assert (signup < window_start).mean() == pytest.approx(0.6, abs=0.1)
    assert signup.min() >= window_start - pd.Timedelta(days=4 * 365 + 1)
    assert signup.max() < _day_after_end()


def test_event_vocabulary_and_values(tables: dict[str, pd.DataFrame]) -> None:
    events = tables["events"]
    assert set(events["event_type"]) == {"login", "page_view", "feature_use", "purchase", "cart_abandon", "error"}
    assert set(events["channel"]) == {"web", "app", "email"}
    carries_value = events["event_type"].isin(["purchase", "page_view"])
    assert events.loc[carries_value, "value"].notna().all()
    assert events.loc[~carries_value, "value"].isna().all()
    assert (events.loc[carries_value, "value"] > 0).all()


def test_event_volume_is_a_few_hundred_per_client(tables: dict[str, pd.DataFrame]) -> None:
    assert 150 <= len(tables["events"]) / N_CLIENTS <= 400


def test_survey_scores_are_nps_answers(tables: dict[str, pd.DataFrame]) -> None:
    surveys = tables["surveys"]
    assert surveys["score"].between(0, 10).all()
    assert 0 < surveys["comment"].notna().mean() < 0.5


def test_ticket_ids_are_unique(tables: dict[str, pd.DataFrame]) -> None:
    assert tables["tickets"]["ticket_id"].is_unique


def test_ticket_fields_stay_in_their_vocabularies(tables: dict[str, pd.DataFrame]) -> None:
    tickets = tables["tickets"]
    assert set(tickets["priority"]) == {"low", "medium", "high", "urgent"}
    assert set(tickets["category"]) == {"billing", "technical", "account", "other"}
    rated = tickets["satisfaction"].dropna()
    assert rated.between(1, 5).all() and (rated == rated.round()).all()


def test_ticket_times_never_run_backwards(tables: dict[str, pd.DataFrame]) -> None:
    tickets = tables["tickets"]
    answered = tickets["first_response_at"].notna()
    resolved = tickets["resolved_at"].notna()
    assert (tickets.loc[answered, "first_response_at"] >= tickets.loc[answered, "opened_at"]).all()
    # A resolution always follows an answer.
    assert (answered | ~resolved).all()
    assert (tickets.loc[resolved, "resolved_at"] >= tickets.loc[resolved, "first_response_at"]).all()


def test_only_resolved_tickets_are_rated(tables: dict[str, pd.DataFrame]) -> None:
    tickets = tables["tickets"]
    assert tickets.loc[tickets["resolved_at"].isna(), "satisfaction"].isna().all()


def test_some_tickets_stay_unanswered_or_open(tables: dict[str, pd.DataFrame]) -> None:
    tickets = tables["tickets"]
    assert tickets["first_response_at"].isna().any()
    assert (tickets["first_response_at"].notna() & tickets["resolved_at"].isna()).any()


# --- Time ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "column"), [("events", "timestamp"), ("surveys", "answered_at"), ("tickets", "opened_at")]
)
def test_activity_lies_between_signup_and_churn(tables: dict[str, pd.DataFrame], name: str, column: str) -> None:
    rows = _with_dates(tables[name], tables)
    assert (rows[column] >= rows["signup_date"]).all()
    # A client that left on day D does nothing from day D on.
    churned = rows["churned_at"].notna()
    assert (rows.loc[churned, column] < rows.loc[churned, "churned_at"]).all()


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("events", "timestamp"),
        ("surveys", "answered_at"),
        ("tickets", "opened_at"),
        ("tickets", "first_response_at"),
        ("tickets", "resolved_at"),
    ],
)
def test_nothing_is_known_after_end(tables: dict[str, pd.DataFrame], name: str, column: str) -> None:
    assert (tables[name][column].dropna() < _day_after_end()).all()


def test_activity_only_starts_with_the_window(tables: dict[str, pd.DataFrame]) -> None:
    assert tables["events"]["timestamp"].min() >= pd.Timestamp("2024-07-01", tz="UTC")


def test_churn_is_one_day_per_client_after_signup_and_not_after_end(tables: dict[str, pd.DataFrame]) -> None:
    churn = _with_dates(tables["churn"][["client_id"]], tables)
    assert churn["client_id"].is_unique
    assert (churn["churned_at"] > churn["signup_date"]).all()
    assert (churn["churned_at"] < _day_after_end()).all()


def test_a_window_ending_mid_month_stops_at_end(tmp_path: Path) -> None:
    end = date(2025, 6, 15)
    generate(tmp_path, n_clients=300, seed=3, end=end, months=4)
    events = pd.read_parquet(tmp_path / "events.parquet")
    assert events["timestamp"].max() < _day_after_end(end)
    assert events["timestamp"].min() >= pd.Timestamp("2025-03-01", tz="UTC")
    as_of = sorted(pd.read_parquet(tmp_path / "truth.parquet")["as_of"].unique())
    assert as_of == [date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31)]
    assert (pd.read_parquet(tmp_path / "churn.parquet")["churned_at"] <= end).all()


# --- Truth and signal ---------------------------------------------------------------------


def test_truth_rows_are_exactly_the_clients_active_at_each_month_end(tables: dict[str, pd.DataFrame]) -> None:
    truth = tables["truth"]
    clients = _with_dates(tables["clients"][["client_id"]], tables)
    month_ends = pd.date_range("2024-07-31", "2025-12-31", freq="ME", tz="UTC")
    assert sorted(truth["as_of"].unique()) == list(month_ends)
    for as_of in month_ends:
        active = (clients["signup_date"] <= as_of) & ~(clients["churned_at"] <= as_of)
        assert set(truth.loc[truth["as_of"] == as_of, "client_id"]) == set(clients.loc[active, "client_id"]), as_of
    assert not truth.duplicated(["client_id", "as_of"]).any()


def test_p_true_is_a_probability(tables: dict[str, pd.DataFrame]) -> None:
    assert tables["truth"]["p_true"].between(0, 1).all()


def test_mean_p_true_matches_the_realised_30_day_churn_rate(tables: dict[str, pd.DataFrame]) -> None:
    truth = _labelled_truth(tables)
    assert truth["label"].mean() == pytest.approx(truth["p_true"].mean(), rel=0.2)


def test_monthly_churn_is_a_few_percent(tables: dict[str, pd.DataFrame]) -> None:
    assert 0.015 <= _labelled_truth(tables)["label"].mean() <= 0.05


def test_p_true_ranks_churners_first(tables: dict[str, pd.DataFrame]) -> None:
    truth = _labelled_truth(tables)
    assert roc_auc_score(truth["label"], truth["p_true"]) > 0.75


def test_activity_falls_before_churn(tables: dict[str, pd.DataFrame]) -> None:
    churn = _with_dates(tables["churn"][["client_id"]], tables)
    # Churners observed, and signed up, for the whole 90 days before leaving.
    observed = churn["churned_at"] - pd.Timedelta(days=90) >= churn["signup_date"].clip(
        lower=pd.Timestamp("2024-07-01", tz="UTC")
    )
    churn = churn[observed]
    events = tables["events"].merge(churn[["client_id", "churned_at"]], on="client_id")
    days_before = (events["churned_at"] - events["timestamp"]).dt.total_seconds() / 86_400
    last_30_days = (days_before <= 30).sum() / (30 * len(churn))
    days_90_to_60 = days_before.between(60, 90, inclusive="right").sum() / (30 * len(churn))
    assert len(churn) > 100
    assert last_30_days < days_90_to_60


def test_a_client_far_gone_leaves_at_once_without_a_numpy_warning() -> None:
    """Health this low puts the monthly churn probability at 1.0 (a logit past ~37): the daily hazard is
    infinite, so the client leaves on its first day, and `churn generate` prints no divide-by-zero warning."""
    import warnings

    import numpy as np

    from pipeline.synth.clients import Clients, daily_hazard

    one = np.ones(2, dtype=np.int64)
    clients = Clients(signup_day=one, plan=one, contract=one * 0, region=one, seats=one, monthly_value=one * 10.0,
                      base_health=np.zeros(2), start_health=np.zeros(2), start_disengaging=np.zeros(2, dtype=bool),
                      activity=np.ones(2), app_share=np.full(2, 0.5), survey_phase=one)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hazard = daily_hazard(clients, np.array([0.0, -50.0]), np.zeros(2), np.full(2, 1000.0))
    assert 0 < hazard[0] < 0.01 and hazard[1] == np.inf
