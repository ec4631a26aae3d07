"""The feature catalogue: every declared feature of a spec as a table (docs/features.md, the
MLflow run's features.md and features.json, the workbook's glossary all read it)."""

from __future__ import annotations

import pandas as pd

from features import declare
from features.declarations import direction_word
from features.spec import FeatureSpec
from features.wording import DEFAULT_GLOSSARY, Glossary, label

COLUMNS = ("feature", "source", "family", "window_days", "unit", "higher_value", "actionable", "meaning_en",
           "meaning_es")


def catalogue(spec: FeatureSpec, glossary: Glossary = DEFAULT_GLOSSARY) -> pd.DataFrame:
    """One row per feature the spec makes, in column order (event types and channels by the glossary)."""
    rows = [{"feature": f.name, "source": f.source, "family": f.family, "window_days": f.window_days,
             "unit": f.unit, "higher_value": f"{direction_word(f.direction)} risk" if f.direction else "unknown",
             "actionable": f.actionable, "meaning_en": label(f, "en", glossary), "meaning_es": label(f, "es", glossary)}
            for f in declare(spec)]
    return pd.DataFrame(rows, columns=list(COLUMNS)).astype({"window_days": "Int64"})


def catalogue_records(spec: FeatureSpec) -> list[dict]:
    """The catalogue as JSON-ready records."""
    return [{k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in catalogue(spec).to_dict(orient="records")]


def catalogue_markdown(spec: FeatureSpec) -> str:
    lines = ["| feature | source | family | window (days) | unit | a higher value | actionable | what it measures |",
             "|---|---|---|---:|---|---|---|---|"]
    for r in catalogue(spec).itertuples():
        window = "" if pd.isna(r.window_days) else int(r.window_days)
        lines.append(f"| `{r.feature}` | {r.source} | {r.family} | {window} | {r.unit} | {r.higher_value} | "
                     f"{'yes' if r.actionable else 'no'} | {r.meaning_en} |")
    return "\n".join(lines) + "\n"
