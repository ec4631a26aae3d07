"""Reasons: only what pushes the risk up, in plain words, with the client's own numbers."""

import numpy as np
import pandas as pd

from features.spec import FeaturesConfig, FeatureSpec
from features.wording import Glossary, Term
from models.explain import client_context, feature_label, render, top_reasons


def spec_with(names, **extra) -> FeatureSpec:
    spec = FeatureSpec(config=FeaturesConfig(), sources=("events", "surveys", "tickets"),
                       optional_columns={"tickets": ("priority", "resolved_at")},
                       event_types=("Inicio sesión", "error"), event_type_names=("inicio_sesion", "error"), **extra)
    spec.feature_names = tuple(names)
    return spec


NAMES = ["inicio_sesion_change_30d_vs_previous_30d", "tickets_open", "nps_last_score", "error_count_30d",
         "high_priority_ticket_share_90d"]


def test_a_reason_appears_only_with_a_positive_contribution():
    spec = spec_with(NAMES)
    features = pd.DataFrame([[-0.62, 2.0, 3.0, 4.0, 0.5]], columns=NAMES)
    contrib = np.array([[0.9, -0.4, 0.0, 0.2, -0.1]])
    [reasons] = top_reasons(contrib, features, spec, "en")
    assert [r.feature for r in reasons] == ["inicio_sesion_change_30d_vs_previous_30d", "error_count_30d"]


TYPICAL = {"tickets_open": 0.0, "nps_last_score": 8.0, "error_count_30d": 1.0, "high_priority_ticket_share_90d": 0.2}


def test_reasons_quote_the_clients_own_numbers_strongest_first():
    spec = spec_with(NAMES)
    features = pd.DataFrame([[-0.62, 2.0, 3.0, 4.0, 0.5]], columns=NAMES)
    contrib = np.array([[0.5, 0.7, 0.9, 0.1, 0.05]])
    [reasons] = top_reasons(contrib, features, spec, "en", typical=TYPICAL)
    assert [r.text for r in reasons] == ["last NPS answer 3 (detractor)", "2 open tickets",
                                         "Inicio sesión events down 62% vs the previous 30 days"]


def test_reasons_in_spanish():
    spec = spec_with(NAMES)
    features = pd.DataFrame([[-0.62, 1.0, 5.0, 4.0, 0.5]], columns=NAMES)
    [reasons] = top_reasons(np.array([[0.5, 0.7, 0.9, 0.0, 0.0]]), features, spec, "es", typical=TYPICAL)
    assert [r.text for r in reasons] == ["última respuesta NPS 5 (detractor)", "1 ticket abierto",
                                         "eventos Inicio sesión: baja un 62% frente a los 30 días anteriores"]


def test_one_reason_per_subject_with_plurals():
    names = ["error_count_7d", "error_count_30d", "tickets_open"]
    spec = spec_with(names)
    features = pd.DataFrame([[1.0, 9.0, 1.0]], columns=names)
    [reasons] = top_reasons(np.array([[0.9, 0.8, 0.1]]), features, spec, "en")
    assert [r.text for r in reasons] == ["1 error in the last 7 days", "1 open ticket"]


def test_a_reason_on_the_safe_side_of_its_direction_is_never_given():
    """More logins, fewer errors, a promoter's score or no open ticket may still raise the model's
    log-odds for some client; none of them is said as a reason."""
    spec = spec_with(NAMES)
    typical = {**TYPICAL, "error_count_30d": 5.0}
    safe = pd.DataFrame([[0.20, 0.0, 9.0, 2.0, 0.1]], columns=NAMES)
    [reasons] = top_reasons(np.full((1, 5), 0.5), safe, spec, "en", typical=typical)
    assert reasons == []
    # the same positive contributions from the risky side of every feature: three reasons
    risky = pd.DataFrame([[-0.20, 1.0, 6.0, 9.0, 0.5]], columns=NAMES)
    [reasons] = top_reasons(np.full((1, 5), 0.5), risky, spec, "en", typical=typical)
    assert [r.feature for r in reasons] == ["inicio_sesion_change_30d_vs_previous_30d", "tickets_open",
                                            "nps_last_score"]


def test_a_value_level_with_the_typical_client_or_a_change_rounding_to_zero_is_no_reason():
    spec = spec_with(NAMES)
    level = pd.DataFrame([[-0.004, 0.0, 8.0, 1.0, 0.2]], columns=NAMES)
    [reasons] = top_reasons(np.full((1, 5), 0.5), level, spec, "en", typical=TYPICAL)
    assert reasons == []


def test_a_ticket_share_is_not_mistaken_for_an_event_type_share():
    spec = spec_with(NAMES)
    family, text = render("high_priority_ticket_share_90d", 0.5, pd.Series(dtype=float), spec, "en")
    assert (family, text) == ("support", "50% of tickets in the last 90 days were high priority")


def test_days_read_as_today_yesterday_or_days_ago():
    spec = spec_with(["days_since_last_ticket"])
    said = [render("days_since_last_ticket", d, pd.Series(dtype=float), spec, lang)[1]
            for lang in ("en", "es") for d in (0.0, 1.0, 3.0)]
    assert said == ["last ticket today", "last ticket yesterday", "last ticket 3 days ago",
                    "último ticket hoy", "último ticket ayer", "último ticket hace 3 días"]


def test_missing_nps_reads_as_no_answer_and_a_missing_ratio_gives_no_reason():
    spec = spec_with(NAMES)
    assert render("nps_last_score", np.nan, pd.Series(dtype=float), spec, "en") == ("nps", "no NPS answer yet")
    assert render("inicio_sesion_change_30d_vs_previous_30d", np.nan, pd.Series(dtype=float), spec, "en") is None


def test_a_static_attribute_is_never_a_reason_but_context():
    spec = spec_with(["contrato", "tenure_days", "tickets_open"], categorical_attributes={"Contrato": "contrato"},
                     category_levels={"contrato": ("Anual", "Mensual")})
    features = pd.DataFrame([[1.0, 400.0, 1.0]], columns=["contrato", "tenure_days", "tickets_open"])
    contrib = np.array([[0.9, 0.8, 0.1]])
    [reasons] = top_reasons(contrib, features, spec, "en", typical={"tickets_open": 0.0})
    assert [r.text for r in reasons] == ["1 open ticket"]
    importance = np.array([5.0, 1.0, 1.0])
    assert client_context(features, spec, importance, "en") == ["client for 13 months; Contrato: Mensual"]
    assert client_context(features, spec, None, "es") == ["cliente desde hace 13 meses; Contrato: Mensual"]
    # a column the model never splits on is no context
    assert client_context(features, spec, np.array([0.0, 1.0, 1.0]), "en") == ["client for 13 months"]


def test_the_glossary_names_event_types_and_columns_and_humanises_the_rest():
    spec = spec_with(["error_count_30d", "inicio_sesion_count_30d", "plan"], categorical_attributes={"plan": "plan"},
                     category_levels={"plan": ("Oro",)})
    glossary = Glossary(events={"Inicio sesión": Term(en="sign-in|sign-ins", es="acceso|accesos")})
    features = pd.DataFrame([[3.0, 1.0, 0.0]], columns=["error_count_30d", "inicio_sesion_count_30d", "plan"])
    [reasons] = top_reasons(np.array([[0.5, 0.4, 0.3]]), features, spec, "es",
                            typical={"error_count_30d": 1.0, "inicio_sesion_count_30d": 4.0}, glossary=glossary)
    assert [r.text for r in reasons] == ["3 errores en los últimos 30 días", "1 acceso en los últimos 30 días"]
    assert feature_label("inicio_sesion_count_30d", spec, "en", glossary) == "sign-ins in 30 days"
    assert feature_label("inicio_sesion_count_30d", spec, "en") == "Inicio sesión events in 30 days"
    assert client_context(features, spec, None, "es") == ["plan: Oro"]


def test_labels_describe_features_without_numbers():
    spec = spec_with(NAMES)
    assert feature_label("inicio_sesion_change_30d_vs_previous_30d", spec) == \
        "Inicio sesión events: trend vs the previous 30 days"
    assert feature_label("tickets_open", spec, "es") == "tickets abiertos"
