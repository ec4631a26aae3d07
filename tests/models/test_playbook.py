"""The playbook: validated with messages naming the key; first matching rule with capacity wins."""

import pandas as pd
import pytest

from features.errors import ContractError
from models.playbook import Playbook, assign_actions, load_playbook

PLAYBOOK = {
    "actions": {"visit": {"en": "Visit", "es": "Visita", "capacity": 1},
                "call": {"en": "Call", "es": "Llamada"},
                "email": {"en": "Email", "es": "Correo"}},
    "rules": [{"action": "visit", "when": {"min_expected_value_at_risk": 100}},
              {"action": "call", "when": {"nps_group": ["detractor"], "reason_family": ["nps", "support"]}}],
    "default_action": "email",
}


def row(value_at_risk=0.0, nps="passive"):
    return {"expected_value_at_risk": value_at_risk, "monthly_value": 10.0, "nps_group": nps, "risk_band": "high",
            "loyalty_stage": "client", "value_quadrant": "develop"}


def test_first_matching_rule_wins_and_capacity_overflows_to_the_next():
    listed = pd.DataFrame([row(500, "detractor"), row(300, "detractor"), row(0, "passive")])
    families = [["nps"], ["support"], ["nps"]]
    # the second client also qualifies for a visit, but the team can visit only one
    assert assign_actions(listed, families, Playbook.model_validate(PLAYBOOK)) == ["visit", "call", "email"]


def test_all_conditions_of_a_rule_must_hold():
    listed = pd.DataFrame([row(0, "detractor")])
    assert assign_actions(listed, [["activity"]], Playbook.model_validate(PLAYBOOK)) == ["email"]


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
