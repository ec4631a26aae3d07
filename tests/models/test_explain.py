"""Reasons: only what pushes the risk up, in plain words, with the client's own numbers."""

import numpy as np
import pandas as pd

from features.spec import FeaturesConfig, FeatureSpec
from models.explain import feature_label, render, top_reasons


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


def test_reasons_quote_the_clients_own_numbers_strongest_first():
    spec = spec_with(NAMES)
    features = pd.DataFrame([[-0.62, 2.0, 3.0, 4.0, 0.5]], columns=NAMES)
    contrib = np.array([[0.5, 0.7, 0.9, 0.1, 0.05]])
    [reasons] = top_reasons(contrib, features, spec, "en")
    assert [r.text for r in reasons] == ["last NPS answer 3 (detractor)", "2 tickets open",
                                         "Inicio sesión down 62% vs the previous 30 days"]


def test_reasons_in_spanish():
    spec = spec_with(NAMES)
    features = pd.DataFrame([[-0.62, 2.0, 9.0, 4.0, 0.5]], columns=NAMES)
    [reasons] = top_reasons(np.array([[0.5, 0.7, 0.9, 0.0, 0.0]]), features, spec, "es")
    assert [r.text for r in reasons] == ["última respuesta NPS 9 (promotor)", "2 tickets abiertos",
                                         "Inicio sesión: baja un 62% frente a los 30 días anteriores"]


def test_one_reason_per_subject():
    names = ["error_count_7d", "error_count_30d", "tickets_open"]
    spec = spec_with(names)
    features = pd.DataFrame([[3.0, 9.0, 1.0]], columns=names)
    [reasons] = top_reasons(np.array([[0.9, 0.8, 0.1]]), features, spec, "en")
    assert [r.text for r in reasons] == ["3 error events in the last 7 days", "1 tickets open"]


def test_a_ticket_share_is_not_mistaken_for_an_event_type_share():
    spec = spec_with(NAMES)
    family, text = render("high_priority_ticket_share_90d", 0.5, pd.Series(dtype=float), spec, "en")
    assert (family, text) == ("support", "50% of tickets in 90 days high priority")


def test_missing_nps_reads_as_no_answer_and_a_missing_ratio_gives_no_reason():
    spec = spec_with(NAMES)
    assert render("nps_last_score", np.nan, pd.Series(dtype=float), spec, "en") == ("nps", "no NPS answer yet")
    assert render("inicio_sesion_change_30d_vs_previous_30d", np.nan, pd.Series(dtype=float), spec, "en") is None


def test_categorical_attribute_reason_names_the_column_and_level():
    spec = spec_with(["contrato"], categorical_attributes={"Contrato": "contrato"},
                     category_levels={"contrato": ("Anual", "Mensual")})
    features = pd.DataFrame([[1.0]], columns=["contrato"])
    [reasons] = top_reasons(np.array([[0.3]]), features, spec, "en")
    assert reasons[0].text == "Contrato: Mensual" and reasons[0].family == "profile"


def test_labels_describe_features_without_numbers():
    spec = spec_with(NAMES)
    assert feature_label("inicio_sesion_change_30d_vs_previous_30d", spec) == \
        "Inicio sesión trend vs previous 30 days"
    assert feature_label("tickets_open", spec, "es") == "tickets abiertos"
