"""Activity forecasts (models.forecasts): targets a month on, learning only from the rows allowed,
cross-fitted columns, stored as data, and what a forecast's contribution is said as."""

import json

import numpy as np
import pandas as pd
import pytest

from models.forecasts import FOLDS, ActivityForecast, fit_forecasts, forecast_name, next_month_targets

JAN, FEB, MAR, MAY = (pd.Timestamp(t) for t in ("2025-01-31", "2025-02-28", "2025-03-31", "2025-05-31"))


def test_a_rows_target_is_its_clients_count_at_the_next_cutoff_a_month_on():
    rows = pd.DataFrame({
        "client_id": ["a", "a", "a", "b", "b", "a"],
        "cutoff": [JAN, FEB, MAR, JAN, FEB, MAY],
        "login_count_30d": [1.0, 2.0, 3.0, 10.0, 20.0, 5.0],
    })
    values, known = next_month_targets(rows, ["login_count_30d"])
    # a: Jan -> Feb's 2, Feb -> Mar's 3; Mar -> May is two months on, not next month: no target;
    # b: Jan -> Feb's 20, Feb -> b has no March row (gone): no target; May is the last cutoff
    assert known.tolist() == [True, True, False, True, False, False]
    assert values[known, 0].tolist() == [2.0, 3.0, 20.0]


def _history(n_clients: int, seed: int = 0) -> pd.DataFrame:
    """Clients with a steady level of logins over four month-end cutoffs, Poisson around it."""
    rng = np.random.default_rng(seed)
    level = rng.gamma(2.0, 3.0, n_clients)
    frames = []
    for t in (JAN, FEB, MAR, pd.Timestamp("2025-04-30")):
        frames.append(pd.DataFrame({"client_id": [f"c{i}" for i in range(n_clients)], "cutoff": t,
                                    "login_count_30d": rng.poisson(level).astype(float),
                                    "tenure_days": rng.integers(30, 900, n_clients).astype(float)}))
    return pd.concat(frames, ignore_index=True)


def _fit(rows: pd.DataFrame, learn: np.ndarray) -> ActivityForecast:
    fold = np.arange(len(rows)) % FOLDS
    fitted = fit_forecasts(rows, ["login_count_30d", "tenure_days"], ["login_count_30d"], learn, fold, [], 1, 1)
    assert fitted is not None
    return fitted


def test_forecasters_learn_only_from_the_rows_allowed_and_nothing_after():
    rows = _history(600)
    learn = (rows["cutoff"] < MAR).to_numpy()  # targets known by March: January's and February's rows
    fitted = _fit(rows, learn)
    later = rows.copy()
    later.loc[later["cutoff"] == pd.Timestamp("2025-04-30"), "login_count_30d"] = 999.0  # April's counts
    refitted = _fit(later, learn)
    assert [b.model_to_string() for b in fitted.boosters[0]] == [b.model_to_string() for b in refitted.boosters[0]]
    # ... while a change to what they may read does change them
    earlier = rows.copy()
    earlier.loc[earlier["cutoff"] == FEB, "login_count_30d"] += 5.0
    assert _fit(earlier, learn).boosters[0][0].model_to_string() != fitted.boosters[0][0].model_to_string()


def test_forecasts_follow_the_clients_level_and_are_cross_fitted_by_fold():
    rows = _history(900)
    fitted = _fit(rows, (rows["cutoff"] < MAR).to_numpy())
    name = forecast_name("login_count_30d")
    assert fitted.names == (name,) == ("login_forecast_next_30d",)
    mean = fitted.columns(rows)[name].to_numpy()
    # more logins now, more expected next month
    assert np.corrcoef(rows["login_count_30d"], mean)[0, 1] > 0.5
    fold = np.where(np.arange(len(rows)) < 300, 1, -1)  # the first 300 rows in fold 1, the others in none
    crossed = fitted.columns(rows, fold)[name].to_numpy()
    matrix = rows[["login_count_30d", "tenure_days"]].to_numpy(dtype=np.float32)
    assert crossed[:300] == pytest.approx(np.log1p(fitted.boosters[0][1].predict(matrix[:300])))
    assert crossed[300:] == pytest.approx(mean[300:])
    augmented = fitted.augment(rows)
    assert list(augmented.columns) == [*rows.columns, name]
    assert len(augmented) == len(rows)


def test_forecasters_stored_as_json_give_the_same_columns():
    rows = _history(600)
    fitted = _fit(rows, (rows["cutoff"] < MAR).to_numpy())
    text = json.dumps(fitted.to_dict())
    back = ActivityForecast.from_dict(json.loads(text))
    pd.testing.assert_frame_equal(back.columns(rows), fitted.columns(rows))
    with pytest.raises(ValueError, match="format"):
        ActivityForecast.from_dict({**json.loads(text), "format": 99})


def test_too_few_rows_with_a_known_next_month_fit_no_forecasts():
    rows = _history(100)  # 300 rows with a next month, fewer than MIN_LEARNING_ROWS
    fold = np.arange(len(rows)) % FOLDS
    assert fit_forecasts(rows, ["login_count_30d"], ["login_count_30d"], np.ones(len(rows), bool), fold,
                         [], 1, 1) is None


def test_auto_asks_for_more_rows_than_an_explicit_request():
    rows = _history(600)  # 1,800 rows with a next month (Jan-Mar): enough when asked, not for a threshold above
    fold, learn = np.arange(len(rows)) % FOLDS, np.ones(len(rows), bool)
    asked = fit_forecasts(rows, ["login_count_30d"], ["login_count_30d"], learn, fold, [], 1, 1)
    assert asked is not None and asked.sources == ("login_count_30d",)
    assert fit_forecasts(rows, ["login_count_30d"], ["login_count_30d"], learn, fold, [], 1, 1,
                         min_rows=1_801) is None
    assert fit_forecasts(rows, ["login_count_30d"], ["login_count_30d"], learn, fold, [], 1, 1,
                         min_rows=1_800) is not None


def test_a_forecasts_contribution_is_said_as_its_source_counts():
    forecast = ActivityForecast(("a", "login_count_30d"), ("login_count_30d",), ((),))
    values = np.array([[0.1, 0.2, 0.3],
                       [1.0, -1.0, 0.5]])  # columns: a, login_count_30d, its forecast
    folded = forecast.fold_onto_sources(values, ["a", "login_count_30d"])
    assert folded.tolist() == [[0.1, 0.5], [1.0, -0.5]]
    assert forecast.fold_onto_sources(np.array([2.0, 3.0, 4.0]), ["a", "login_count_30d"]).tolist() == [2.0, 7.0]
