"""The playbook: validated with messages naming the key; first matching rule with capacity wins."""

import numpy as np
import pandas as pd
import pytest

from features.errors import ContractError
from models.playbook import Playbook, assign_actions, load_playbook

PLAYBOOK = {
    "actions": {"visit": {"en": "Visit", "es": "Visita", "capacity": 1},
                "call": {"en": "Call", "es": "Llamada"},
                "email": {"en": "Email", "es": "Correo"}},
    "rules": [{"action": "visit", "when": {"min_expected_value_at_risk": 100}},
              {"action": "call", "when": {"nps_group": ["detractor"], "min_open_tickets": 1}}],
    "default_action": "email",
}


def row(value_at_risk=0.0, nps="passive"):  # the list row's columns the conditions read
    return {"expected_value_at_risk": value_at_risk, "monthly_value": 10.0, "nps_group": nps, "risk_band": "high",
            "loyalty_stage": "client", "value_quadrant": "develop"}


def facts(open_tickets=(np.nan,), breaches=None, change=None, tenure=None):
    n = len(open_tickets)
    return pd.DataFrame({"open_tickets": list(open_tickets), "sla_breaches_30d": breaches or [np.nan] * n,
                         "activity_change_30d": change or [np.nan] * n, "days_as_client": tenure or [np.nan] * n})


def test_first_matching_rule_wins_and_capacity_overflows_to_the_next():
    listed = pd.DataFrame([row(500, "detractor"), row(300, "detractor"), row(0, "passive")])
    # the second client also qualifies for a visit, but the team can visit only one
    assert assign_actions(listed, facts([2, 1, 3]), Playbook.model_validate(PLAYBOOK)) == ["visit", "call", "email"]


def test_all_conditions_of_a_rule_must_hold():
    listed = pd.DataFrame([row(0, "detractor"), row(0, "detractor")])
    # a detractor without an open ticket (none, or unknown when the data has no tickets) is not called
    assert assign_actions(listed, facts([0, np.nan]), Playbook.model_validate(PLAYBOOK)) == ["email", "email"]


@pytest.mark.parametrize(("when", "client", "expected"), [
    ({"min_sla_breaches_30d": 1}, {"breaches": [1]}, "act"), ({"min_sla_breaches_30d": 1}, {"breaches": [0]}, "email"),
    ({"max_activity_change": -0.3}, {"change": [-0.5]}, "act"),
    ({"max_activity_change": -0.3}, {"change": [-0.2]}, "email"),
    ({"max_activity_change": -0.3}, {"change": [np.nan]}, "email"),  # no activity in either month: no drop
    ({"max_tenure_days": 90}, {"tenure": [90]}, "act"), ({"max_tenure_days": 90}, {"tenure": [91]}, "email"),
])
def test_each_fact_condition(when, client, expected):
    playbook = Playbook.model_validate({"actions": {"act": {"en": "A", "es": "A"}, "email": {"en": "E", "es": "E"}},
                                        "rules": [{"action": "act", "when": when}], "default_action": "email"})
    assert assign_actions(pd.DataFrame([row()]), facts(**client), playbook) == [expected]


def test_a_rule_on_reasons_is_refused_with_the_facts_to_use(tmp_path):
    path = write(tmp_path, "actions: {a: {en: A, es: A}}\nrules: [{action: a, when: {reason_family: [support]}}]\n"
                           "default_action: a\n")
    with pytest.raises(ContractError, match=r"reason_family: actions follow facts of the client.*min_open_tickets"):
        load_playbook(path)


def write(tmp_path, text):
    path = tmp_path / "playbook.yaml"
    path.write_text(text)
    return path


def test_unknown_action_in_a_rule_names_the_key(tmp_path):
    path = write(tmp_path, "actions: {a: {en: A, es: A}}\nrules: [{action: b}]\ndefault_action: a\n")
    with pytest.raises(ContractError, match=r"playbook\.yaml.*rules\[0\]\.action: 'b' is not an action"):
        load_playbook(path)


def test_unknown_condition_names_the_key(tmp_path):
    path = write(tmp_path, "actions: {a: {en: A, es: A}}\nrules: [{action: a, when: {nps: [detractor]}}]\n"
                           "default_action: a\n")
    with pytest.raises(ContractError, match=r"playbook key 'rules\.0\.when\.nps': unknown key"):
        load_playbook(path)


def test_unknown_condition_value_is_refused(tmp_path):
    path = write(tmp_path, "actions: {a: {en: A, es: A}}\nrules: [{action: a, when: {nps_group: [angry]}}]\n"
                           "default_action: a\n")
    with pytest.raises(ContractError, match=r"nps_group: 'angry' is not one of"):
        load_playbook(path)


def test_missing_translation_is_refused(tmp_path):
    path = write(tmp_path, "actions: {a: {en: A}}\nrules: []\ndefault_action: a\n")
    with pytest.raises(ContractError, match=r"playbook key 'actions\.a\.es'"):
        load_playbook(path)


def test_the_shipped_playbook_is_valid():
    from pathlib import Path

    playbook = load_playbook(Path(__file__).resolve().parents[2] / "configs" / "playbook.yaml")
    assert playbook.default_action in playbook.actions
