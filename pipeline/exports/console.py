"""What the console says after a run, from the job's JSON result (English: the log's language)."""

from __future__ import annotations

from typing import Any


def call_sheet_lines(s: dict[str, Any]) -> list[str]:
    """What the console says about the call sheet's cut (the score job's summary as a dict)."""
    listed, scored = s["clients_listed"], s["clients_scored"]
    why = {"capacity": f"the team's capacity ({s['capacity_clients']:,} clients)",
           "profit": f"the last client worth a contact ({s['profitable_clients']:,} clients are)",
           "": ""}[s["limited_by"]]
    if not listed:
        lines = [f"the call sheet is empty: no client of {scored:,} is worth a contact at this cost"
                 if s["limited_by"] == "profit" else "the call sheet is empty: no client was scored"]
    else:
        lines = [f"call sheet: {listed:,} of {scored:,} scored clients" + (f", ended by {why}" if why else "")]
    if s["clients_beyond_cut"]:
        beyond = f"{s['clients_beyond_cut']:,} clients lie beyond the cut (every one is in the scored Parquet)"
        if s.get("value_at_risk_beyond_cut") is not None:
            beyond += f", holding {s['value_at_risk_beyond_cut']:,.0f} of expected value at risk"
        lines.append(beyond)
    if listed and s.get("value_at_risk_listed_share") is not None:
        lines.append(f"the {listed:,} listed clients hold {s['value_at_risk_listed_share']:.1%} of the expected value "
                     f"at risk ({s['value_at_risk_listed']:,.0f} of {s['value_at_risk_total']:,.0f})")
    return lines


def _f(m: dict[str, Any], key: str) -> float:
    return m.get(key, float("nan"))


def train_lines(r: dict[str, Any]) -> list[str]:
    """What `churn train` says: the model, its figures, the baselines, the champion decision."""
    m = r["metrics"]
    lines = [f"model {r['model_uri']} (run {r['run_id']}); validation {r['validation']['kind']} on "
             f"{', '.join(r['validation']['window'])}: ROC AUC {_f(m, 'roc_auc'):.3f}, PR AUC {_f(m, 'pr_auc'):.3f}, "
             f"Brier {_f(m, 'brier'):.4f}, top-decile lift {_f(m, 'top_decile_lift'):.2f}"]
    if "oracle_roc_auc" in m:
        lines.append(f"generator's own p_true on the same rows: ROC AUC {m['oracle_roc_auc']:.3f} "
                     f"(model/oracle {m['model_to_oracle_auc_ratio']:.3f})")
    base = ", ".join(f"{name} ROC AUC {_f(f, 'roc_auc'):.3f}" for name, f in r["baselines"].items())
    lines.append(f"baselines: {base}; LightGBM "
                 + ("beats them" if r["beats_baselines"] else "does NOT beat them (ROC AUC or expected profit)"))
    strongest = r.get("strongest_baseline")
    if strongest:
        margin = strongest["model_minus_baseline"]
        lines.append(f"strongest baseline: {strongest['name']} (ROC AUC {strongest['roc_auc']:.3f}); the model is "
                     f"{abs(margin):.3f} {'above' if margin > 0 else 'below'} it")
    lines.append(("champion: " if r["champion"] else f"{r['alias']}: ") + r["champion_decision"])
    return lines


def evaluate_lines(r: dict[str, Any]) -> list[str]:
    """What `churn evaluate` says: the figures on the graded cutoff, notes, the report."""
    m = r["metrics"]
    lines = [f"model version {r['model_version']} at {r['as_of']}: ROC AUC {_f(m, 'roc_auc'):.3f}, "
             f"Brier {_f(m, 'brier'):.4f} (uncalibrated {_f(m, 'uncalibrated_brier'):.4f}), ECE {_f(m, 'ece'):.4f}, "
             f"lift@10% {_f(m, 'lift_at_10pct'):.2f}, expected profit {_f(m, 'expected_profit'):,.0f} at the top "
             f"{_f(m, 'profit_best_share'):.1%}"]
    if "oracle_roc_auc" in m:
        lines.append(f"generator's own p_true: ROC AUC {m['oracle_roc_auc']:.3f} "
                     f"(model/oracle {m['model_to_oracle_auc_ratio']:.3f})")
    return [*lines, *(f"note: {note}" for note in r["notes"]), f"report: {r['outputs']['html']}"]


def demo_lines(r: dict[str, Any], mlflow_command: str = "mlflow") -> list[str]:
    """What `churn demo` says: where the data, model, list and MLflow store are, and how to open it."""
    t, s = r["train"], r["score"]
    oracle = f", oracle {t['metrics']['oracle_roc_auc']:.3f}" if "oracle_roc_auc" in t["metrics"] else ""
    return [f"data:       {r['generate']['out']}",
            f"model:      {t['model_uri']} (ROC AUC {_f(t['metrics'], 'roc_auc'):.3f}{oracle})",
            f"champion:   {'yes' if t['champion'] else 'no'} ({t['champion_decision']})",
            f"risk list:  {s['outputs']['csv']} (a call sheet of {s['clients_listed']:,} of the "
            f"{s['clients_scored']:,} clients scored as of {s['as_of']})",
            *(f"            {line}" for line in call_sheet_lines(s["summary"])[1:]),
            f"MLflow:     {t['tracking_uri']}",
            *(f"            {line}" for line in ui_lines(t["tracking_uri"], t["experiment_id"], mlflow_command))]


def ui_lines(uri: str, experiment_id: str, mlflow_command: str = "mlflow") -> list[str]:
    """How to open the training runs in the MLflow UI: on a server, its page; on a file, the command
    that serves it first. The UI (3.x) opens an experiment on its GenAI pages unless the address says
    `workflowType=machine_learning` (the experiment's kind tag is set too, for UIs that read it)."""
    page = f"#/experiments/{experiment_id}?workflowType=machine_learning"
    if uri.startswith(("http://", "https://")):
        return [f"open {uri.rstrip('/')}/{page}"]
    return [f"open with: {mlflow_command} ui --backend-store-uri {uri}",
            f"then:      http://127.0.0.1:5000/{page}"]
