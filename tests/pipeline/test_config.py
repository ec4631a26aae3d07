from pathlib import Path

import pytest
import yaml

from features.errors import ContractError
from pipeline.config import AppConfig, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_default_yaml_spells_out_the_built_in_defaults():
    written = load_config(ROOT / "configs" / "default.yaml")
    assert written == AppConfig()


def test_partial_file_overrides_only_what_it_sets(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  horizon_days: 60\n  lightgbm:\n    num_leaves: 15\n")
    config = load_config(path)
    assert config.training.horizon_days == 60
    assert config.training.lightgbm.num_leaves == 15
    assert config.training.lightgbm.learning_rate == AppConfig().training.lightgbm.learning_rate


def test_unknown_key_names_the_key_and_the_file(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("training:\n  horizon_dayz: 60\n")
    with pytest.raises(ContractError, match=r"typo\.yaml.*training\.horizon_dayz.*unknown key"):
        load_config(path)


def test_wrong_value_names_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"data": {"max_rejected_share": 3}}))
    with pytest.raises(ContractError, match=r"data\.max_rejected_share"):
        load_config(path)


def test_config_is_frozen():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"horizon_days\s+Instance is frozen"):
        AppConfig().training.horizon_days = 5  # type: ignore[misc]


def test_one_capacity_for_the_call_sheet_and_its_grading(tmp_path):
    assert load_config(None).scoring.capacity == load_config(None).evaluation.team_capacity == 0.05
    path = tmp_path / "c.yaml"
    path.write_text("scoring:\n  capacity: 200\n", encoding="utf-8")
    assert load_config(path).evaluation.team_capacity == 200
    path.write_text("scoring:\n  capacity: null\n", encoding="utf-8")
    assert load_config(path).evaluation.team_capacity is None
    path.write_text("evaluation:\n  team_capacity: 0.1\n", encoding="utf-8")
    with pytest.raises(ContractError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: evaluation.team_capacity is now scoring.capacity")
    path.write_text("scoring:\n  capacity: 2.5\n", encoding="utf-8")
    with pytest.raises(ContractError) as err:
        load_config(path)
    assert "config key 'scoring': capacity 2.5: a whole number of clients from 1, or a share below 1" in str(err.value)
