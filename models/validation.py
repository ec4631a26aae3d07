"""A fitted model graded on its out-of-time fold: every figure, against simple baselines and, on
generated data, against the generator's own probability. Pure: frames in, figures and tables out
(the charts are drawn by pipeline/exports from the tables here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.spec import FeatureSpec
from models import baselines
from models.bundle import ModelBundle
from models.evaluation import (
    EvaluationConfig,
    client_values,
    clients_at_capacity,
    evaluate,
    gains_table,
    profit_curve,
    reliability_table,
)
from models.explain import contributions
from models.metrics import classification_metrics
from models.segments import monthly_values
from models.training import FitResult

CALIBRATION_FIGURES = ("brier", "log_loss", "ece")


@dataclass
class Curves:
    """The tables behind the evaluation charts."""

    reliability: dict[str, pd.DataFrame]   # "before calibration" / "after calibration"
    gains: dict[str, pd.DataFrame]         # the model's and each baseline's
    profit: pd.DataFrame
    capacity_share: float


@dataclass
class ValidationReport:
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    beats_baselines: bool
    # client_id, cutoff, label, probability (cross-fitted), probability_uncalibrated, ranking_score, value
    predictions: pd.DataFrame
    importance: pd.DataFrame
    curves: Curves
    notes: list[str]


def finite(figures: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in figures.items() if v is not None and np.isfinite(v)}


def grade(label: np.ndarray, calibrated: np.ndarray, raw: np.ndarray, value: np.ndarray,
          config: EvaluationConfig, others: dict[str, np.ndarray] | None = None,
          ranking: np.ndarray | None = None) -> tuple[dict[str, float], Curves]:
    """Every figure of calibrated probabilities (with the raw ones' calibration figures) and the curves;
    the ranking figures and curves of `ranking` when given (the deployed model's order)."""
    order = calibrated if ranking is None else ranking
    metrics = finite(evaluate(label, calibrated, value, config, order))
    before = finite(evaluate(label, raw, value, config))
    for key in CALIBRATION_FIGURES:
        if key in before:
            metrics[f"uncalibrated_{key}"] = before[key]
    capacity = clients_at_capacity(config.team_capacity, len(label)) / max(len(label), 1)
    curves = Curves(
        reliability={"before calibration": reliability_table(label, raw, config.calibration_bins),
                     "after calibration": reliability_table(label, calibrated, config.calibration_bins)},
        gains={"model": gains_table(label, order),
               **{n: gains_table(label, p) for n, p in (others or {}).items()}},
        profit=profit_curve(label, order, value, config), capacity_share=capacity)
    return metrics, curves


def validation_report(rows: pd.DataFrame, result: FitResult, bundle: ModelBundle, clients: pd.DataFrame,
                      config: EvaluationConfig, seed: int, truth: pd.DataFrame | None = None) -> ValidationReport:
    """Every figure of the model on its out-of-time fold, against baselines and (given `truth`) the oracle."""
    valid = rows.loc[result.split.valid].reset_index(drop=True)
    label = valid["label"].to_numpy()
    monthly = monthly_values(clients)
    value = client_values(None if monthly is None else monthly.reindex(valid["client_id"]).to_numpy(),
                          len(valid), config)
    predictions = valid[["client_id", "cutoff", "label"]].assign(
        cutoff=valid["cutoff"].dt.date.astype(str), probability=result.valid_probability,
        probability_uncalibrated=result.valid_probability_raw, ranking_score=result.valid_ranking, value=value)
    scores = baseline_scores(rows.loc[result.split.train], valid, bundle.spec, seed)
    predictions = predictions.assign(**{f"baseline: {name}": p for name, p in scores.items()})
    figures = {name: finite(evaluate(label, p, value, config)) for name, p in scores.items()}
    for name in figures:
        if name.startswith("recency"):  # a recency rank is not a probability: only its ranking counts
            for key in CALIBRATION_FIGURES:
                figures[name].pop(key, None)
    metrics, curves = grade(label, result.valid_probability, result.valid_probability_raw, value, config, scores,
                            result.valid_ranking)
    if truth is not None:
        metrics.update(oracle_comparison(truth, predictions))
    beaten_by = not_beaten(metrics, figures)
    notes = [not_beaten_note(beaten_by)] if beaten_by else []
    return ValidationReport(metrics, figures, not beaten_by, predictions, global_importance(bundle, valid), curves,
                            notes)


def not_beaten(metrics: dict[str, float], figures: dict[str, dict[str, float]]) -> list[str]:
    """The baselines the model does not beat: as high a ROC AUC or a higher expected profit."""
    return [name for name, f in figures.items()
            if f.get("roc_auc", 0) >= metrics.get("roc_auc", 0)
            or f.get("expected_profit", 0) > metrics.get("expected_profit", 0)]


def not_beaten_note(names: list[str]) -> str:
    return (f"LightGBM does not beat the baseline(s) {', '.join(names)} on the validation window "
            f"(ROC AUC or expected profit): prefer the simpler model or look at the data")


def baseline_scores(train: pd.DataFrame, valid: pd.DataFrame, spec: FeatureSpec, seed: int
                    ) -> dict[str, np.ndarray]:
    """The simple models every fit is compared with, fitted on the same rows and split."""
    recency_score, recency_source = baselines.recency(valid)
    return {"logistic regression": baselines.logistic_regression(train, valid, list(spec.feature_names), seed),
            "LightGBM on plain counts": baselines.plain_counts_lightgbm(train, valid, spec, seed),
            f"recency ({recency_source})": recency_score}


def global_importance(bundle: ModelBundle, rows: pd.DataFrame) -> pd.DataFrame:
    """Gain per feature and mean |contribution| on the given rows, strongest first."""
    contrib = contributions(bundle.booster, rows, bundle.spec, bundle.linear, bundle.forecast)
    frame = pd.DataFrame({"feature": list(bundle.spec.feature_names),
                          "gain": bundle.importance(),
                          "mean_abs_contribution": np.abs(contrib).mean(axis=0) if len(contrib) else 0.0})
    return frame.sort_values(["mean_abs_contribution", "feature"], ascending=[False, True]).reset_index(drop=True)


def oracle_comparison(truth: pd.DataFrame, predictions: pd.DataFrame) -> dict[str, float]:
    """How close the model gets to a known probability (`truth`: client_id, as_of, p_true), on the
    prediction rows it covers; nothing when it covers too few or one class only."""
    truth = truth.assign(client_id=truth["client_id"].astype(str),
                         cutoff=pd.to_datetime(truth["as_of"]).dt.date.astype(str))
    joined = predictions.merge(truth[["client_id", "cutoff", "p_true"]], on=["client_id", "cutoff"], how="inner")
    if len(joined) < len(predictions) * 0.9 or joined["label"].nunique() < 2:
        return {}
    ranking = joined["ranking_score"] if "ranking_score" in joined else joined["probability"]
    model_auc = classification_metrics(joined["label"], ranking)["roc_auc"]
    oracle_auc = classification_metrics(joined["label"], joined["p_true"])["roc_auc"]
    return {"oracle_roc_auc": oracle_auc, "model_to_oracle_auc_ratio": model_auc / oracle_auc}
