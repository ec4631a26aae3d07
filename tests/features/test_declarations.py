"""Features declared once: every built feature has a declaration, every reason renders in both
languages, directions follow the domain, and nothing downstream spells or parses a feature name."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from features_testkit import T, frame, make_tables

from features import build_features, categorical_features, declare, declared, fit_spec, monotone_directions
from features.catalogue import catalogue, catalogue_records
from features.declarations import FAMILIES, LOWERS, RAISES, UNITS, UNKNOWN
from features.spec import FeaturesConfig
from features.wording import label
from models.explain import reason_text
from pipeline.data.contract import load_folder

ROOT = Path(__file__).resolve().parents[2]


def unusual_tables():
    """Event types and channels no generator writes: accents, spaces, braces, names that look like
    other features, a trouble type in Spanish; every optional column; two client attributes."""
    clients = frame("clients", [("a", "2024-01-01", 10.0, "Oro", 3), ("b", "2024-02-01", 20.0, "Plata", 5),
                                ("c", "2024-01-15", 30.0, "Oro", 1)], "monthly_value", "Plan {vip}", "seats")
    events = frame("events", [
        ("a", "2024-03-30 10:00", "Inicio sesión", "Teléfono", 1.5),
        ("a", "2024-03-01 10:00", "fallo de pago", "web", None),
        ("b", "2024-03-29 09:00", "events", "channel web", 2.0),
        ("b", "2024-01-20 09:00", "{v} click", "Teléfono", None),
        ("c", "2024-02-10 08:00", "channel_web", "web", None),
    ], "channel", "value")
    surveys = frame("surveys", [("a", "2024-03-10", 3), ("a", "2024-01-10", 9), ("b", "2024-03-01", 8)])
    tickets = frame("tickets", [
        ("t1", "a", "2024-03-20 10:00", "2024-03-20 15:00", "2024-03-25", "Alta", 2),
        ("t2", "b", "2024-02-01 10:00", None, None, "low", None),
    ], "first_response_at", "resolved_at", "priority", "satisfaction")
    return make_tables(clients, events=events, surveys=surveys, tickets=tickets)


@pytest.fixture(scope="module")
def generated_tables(generated_data):
    return load_folder(generated_data, quarantine_dir=None, max_rejected_share=0.0, require_churn=True).tables


@pytest.fixture(params=["generated", "unusual"])
def tables_and_cutoff(request, generated_tables):
    if request.param == "generated":
        return generated_tables, generated_tables.events["timestamp"].max().normalize()
    return unusual_tables(), T


def test_every_built_feature_has_a_declaration_in_column_order(tables_and_cutoff):
    tables, cutoff = tables_and_cutoff
    spec = fit_spec(tables, FeaturesConfig())
    built = build_features(tables, [cutoff], spec)
    declarations = declare(spec)
    names = [f.name for f in declarations]
    assert list(built.columns[2:]) == names == list(spec.feature_names)
    assert len(set(names)) == len(names)
    for f in declarations:
        assert f.family in FAMILIES and f.unit in UNITS and f.direction in (RAISES, LOWERS, UNKNOWN)
        assert label(f, "en") and label(f, "es") and label(f, "en") != f.name, f
    # builders on real rows and on no row name the same columns
    assert set(declared(spec)) == set(built.columns[2:])


def test_every_reason_renders_in_both_languages_for_every_family(tables_and_cutoff):
    tables, cutoff = tables_and_cutoff
    spec = fit_spec(tables, FeaturesConfig())
    families = set()
    for f in declare(spec):
        families.add(f.family)
        for lang in ("en", "es"):
            for value in (0.0, 1.0, 2.5, -0.4, 12.0):
                text = reason_text(f, value, 3.0, lang)
                # no placeholder is left but those the data's own names hold ("{v} click", "Plan {vip}")
                assert text is None or set(re.findall(r"\{(\w+)\}", text)) <= {"v", "vip"}, text
                if f.unit not in ("flag",) and f.reason is not None:
                    assert text, (f.name, lang, value)
            missing = reason_text(f, math.nan, math.nan, lang)
            assert missing is None or missing == f.when_missing(lang)
    assert families == set(FAMILIES) - ({"value"} if "monthly_value" not in tables.clients else set())


def test_a_brace_in_the_data_stays_text_and_never_becomes_a_placeholder():
    spec = fit_spec(unusual_tables(), FeaturesConfig())
    by_name = declared(spec)
    click = next(f for f in by_name.values() if f.name == "v_click_count_30d")
    assert reason_text(click, 2.0, math.nan, "en") == "2 {v} click events in the last 30 days"
    plan = by_name["client_plan_vip"]
    assert reason_text(plan, 0.0, math.nan, "es") == "plan {vip}: Oro"  # the reader lower-cases headers


def test_directions_follow_the_domain():
    spec = fit_spec(unusual_tables(), FeaturesConfig())
    by_name = declared(spec)
    assert by_name["fallo_de_pago_count_30d"].direction == RAISES  # a trouble type, in Spanish
    assert by_name["fallo_de_pago_count_30d"].family == "errors"
    assert by_name["inicio_sesion_count_30d"].direction == LOWERS  # use
    assert by_name["days_since_last_event"].direction == RAISES
    assert by_name["tickets_open"].direction == RAISES
    assert by_name["first_response_sla_breaches_30d"].direction == RAISES
    assert by_name["nps_last_score"].direction == LOWERS
    assert by_name["tenure_days"].direction == LOWERS
    assert by_name["client_seats"].direction == UNKNOWN and not by_name["client_seats"].actionable
    assert by_name["tickets_open"].actionable and not by_name["tenure_days"].actionable


def test_a_configured_trouble_word_makes_a_new_event_type_an_error():
    tables = unusual_tables()
    spec = fit_spec(tables, FeaturesConfig(trouble_event_words=("click",)))
    assert declared(spec)["v_click_count_7d"].direction == RAISES
    assert declared(spec)["fallo_de_pago_count_7d"].direction == LOWERS


def test_a_new_window_is_declared_by_the_same_rule():
    spec = fit_spec(unusual_tables(), FeaturesConfig(windows_days=(14, 60)))
    by_name = declared(spec)
    assert label(by_name["inicio_sesion_count_14d"], "en") == "Inicio sesión events in 14 days"
    assert reason_text(by_name["inicio_sesion_count_14d"], 1.0, math.nan, "es") == \
        "1 evento Inicio sesión en los últimos 14 días"
    assert by_name["events_30d_vs_60d_rate"].window_days == 30


def test_monotone_directions_line_up_with_the_features_and_skip_categories():
    spec = fit_spec(unusual_tables(), FeaturesConfig())
    directions = monotone_directions(spec)
    assert len(directions) == len(spec.feature_names)
    by_name = dict(zip(spec.feature_names, directions))
    assert by_name["days_since_last_event"] == 1 and by_name["tenure_days"] == -1
    assert by_name["client_seats"] == 0
    for name in categorical_features(spec):
        assert by_name[name] == 0  # nps_last_group is declared LOWERS, but a category takes no constraint
    assert declared(spec)["nps_last_group"].direction == LOWERS


def test_catalogue_lists_every_feature_with_its_declaration():
    spec = fit_spec(unusual_tables(), FeaturesConfig())
    table = catalogue(spec)
    assert list(table["feature"]) == list(spec.feature_names)
    row = table.set_index("feature").loc["tickets_open"]
    assert (row["source"], row["family"], row["unit"], row["higher_value"], row["meaning_es"]) == \
        ("tickets", "support", "count", "raises risk", "tickets abiertos")
    records = catalogue_records(spec)
    assert records[0]["window_days"] is None and isinstance(records[0]["actionable"], bool)


def test_a_spec_that_does_not_match_its_builders_is_an_error_naming_the_feature():
    spec = fit_spec(unusual_tables(), FeaturesConfig())
    spec.feature_names = (*spec.feature_names, "made_up_feature_7d")
    with pytest.raises(ValueError, match="made_up_feature_7d"):
        declared(spec)


def _string_literals(path: Path) -> set[str]:
    return {node.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant)
            and isinstance(node.value, str)}


def test_no_module_outside_the_builders_spells_or_parses_a_feature_name(generated_tables):
    """Renaming a feature or adding a window cannot break explanations silently: models/ and
    pipeline/ read declarations, never a feature name (monthly_value is also a contract column)."""
    spec = fit_spec(generated_tables, FeaturesConfig())
    names = set(spec.feature_names) - {"monthly_value"}
    offenders = {}
    for folder in ("models", "pipeline"):
        for path in (ROOT / folder).rglob("*.py"):
            if "synth" in path.parts:
                continue  # the generator writes data, it reads no feature
            found = _string_literals(path) & names
            if found:
                offenders[str(path.relative_to(ROOT))] = sorted(found)
    assert offenders == {}
    assert "import re" not in (ROOT / "models" / "explain.py").read_text()


def test_nps_groups_are_one_rule():
    from features.surveys import nps_group_names
    from models.segments import NPS_GROUPS, nps_group

    scores = np.array([0, 6, 7, 8, 9, 10, np.nan])
    assert list(nps_group(scores)) == list(nps_group_names(scores)) == \
        ["detractor", "detractor", "passive", "passive", "promoter", "promoter", "no answer"]
    assert NPS_GROUPS == ("promoter", "passive", "detractor", "no answer")
    assert pd.Series(nps_group(scores)).isin(NPS_GROUPS).all()
