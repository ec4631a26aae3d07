"""The retention playbook: which action each listed client gets, and how many a team can take.

Rules are read in order; the first whose conditions all hold and whose action still has
capacity wins. Clients are assigned in list order, so the most urgent fill the capacity first.
Conditions read facts of the client (open tickets now, SLA breaches in the last 30 days, the
change of activity, tenure, NPS group, value, segments), never the reasons: a reason says what
moved the score, not what is true of the client today.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from features.clients import TENURE
from features.errors import ContractError
from features.events import events_change
from features.tickets import MONTH_DAYS, OPEN, first_response_breaches
from models.segments import LOYALTY_STAGES, NPS_GROUPS, RISK_BANDS, VALUE_QUADRANTS
from models.settings_file import read_yaml


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    en: str
    es: str
    capacity: int | None = Field(None, ge=0)  # clients per list this team can handle; None: no limit


# the facts conditions read, each from a declared feature of the client's row at the as-of day
FACTS = {"open_tickets": OPEN, "sla_breaches_30d": first_response_breaches(MONTH_DAYS),
         "activity_change_30d": events_change(), "days_as_client": TENURE}


def client_facts(rows: pd.DataFrame) -> pd.DataFrame:
    """The facts per feature row, in row order; NaN where the data lacks the source (no condition on it holds)."""
    return pd.DataFrame({fact: rows[f.name].to_numpy(dtype=float) if f.name in rows else np.full(len(rows), np.nan)
                         for fact, f in FACTS.items()}, index=rows.index)


class Conditions(BaseModel):
    """All given conditions must hold; an empty `when` always holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min_open_tickets: int | None = Field(None, ge=1)  # tickets open now
    min_sla_breaches_30d: int | None = Field(None, ge=1)  # first responses past the SLA in the last 30 days
    # activity in the last 30 days against the 30 before (-0.3: down by more than 30%)
    max_activity_change: float | None = Field(None, lt=0)
    max_tenure_days: int | None = Field(None, ge=0)  # a client this new or newer
    nps_group: list[str] | None = None
    risk_band: list[str] | None = None
    loyalty_stage: list[str] | None = None
    value_quadrant: list[str] | None = None
    min_expected_value_at_risk: float | None = None
    min_monthly_value: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _facts_not_reasons(cls, values):
        for key in ("reason_family", "top_reason_family"):
            if isinstance(values, dict) and key in values:
                raise ValueError(f"{key}: actions follow facts of the client, not the reasons; use min_open_tickets, "
                                 "min_sla_breaches_30d, max_activity_change, max_tenure_days or nps_group")
        return values

    @model_validator(mode="after")
    def _known_values(self) -> Conditions:
        allowed = {"nps_group": NPS_GROUPS, "risk_band": RISK_BANDS, "loyalty_stage": LOYALTY_STAGES,
                   "value_quadrant": VALUE_QUADRANTS}
        for key, values in allowed.items():
            for value in getattr(self, key) or []:
                if value not in values:
                    raise ValueError(f"{key}: '{value}' is not one of {', '.join(values)}")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    action: str
    when: Conditions = Conditions()


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    actions: dict[str, Action]
    rules: list[Rule]
    default_action: str

    @model_validator(mode="after")
    def _actions_exist(self) -> Playbook:
        for i, rule in enumerate(self.rules):
            if rule.action not in self.actions:
                raise ValueError(f"rules[{i}].action: '{rule.action}' is not an action defined under 'actions'")
        if self.default_action not in self.actions:
            raise ValueError(f"default_action: '{self.default_action}' is not an action defined under 'actions'")
        return self


def load_playbook(path: Path) -> Playbook:
    """Read and validate a playbook file; an error names the key and the file."""
    path = Path(path)
    data = read_yaml(path, "playbook file") or {}  # bounded: a regular file, its size, its aliases
    try:
        return Playbook.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        problem = "unknown key" if first["type"] == "extra_forbidden" else message
        where = f"playbook key '{key}': " if key else "playbook: "
        raise ContractError(f"{where}{problem}", file=str(path)) from None


def holds(when: Conditions, row: dict) -> bool:
    """Whether every condition of `when` holds for one client (its list row and facts as one dict)."""
    checks = [
        (when.min_open_tickets, lambda v: row["open_tickets"] >= v),
        (when.min_sla_breaches_30d, lambda v: row["sla_breaches_30d"] >= v),
        (when.max_activity_change, lambda v: row["activity_change_30d"] <= v),
        (when.max_tenure_days, lambda v: row["days_as_client"] <= v),
        (when.nps_group, lambda v: row["nps_group"] in v),
        (when.risk_band, lambda v: row["risk_band"] in v),
        (when.loyalty_stage, lambda v: row["loyalty_stage"] in v),
        (when.value_quadrant, lambda v: row["value_quadrant"] in v),
        (when.min_expected_value_at_risk, lambda v: np.nan_to_num(row["expected_value_at_risk"]) >= v),
        (when.min_monthly_value, lambda v: np.nan_to_num(row["monthly_value"]) >= v),
    ]
    return all(check(value) for value, check in checks if value is not None)


def assign_actions(listed: pd.DataFrame, facts: pd.DataFrame, playbook: Playbook) -> list[str]:
    """The action key for each row of `listed` (already in list order); `facts` (`client_facts`) row by row."""
    used = {key: 0 for key in playbook.actions}
    chosen: list[str] = []
    records = pd.concat([listed.reset_index(drop=True), facts.reset_index(drop=True)], axis=1).to_dict(
        orient="records")
    for row in records:
        for key in (*[r.action for r in playbook.rules if holds(r.when, row)], playbook.default_action):
            capacity = playbook.actions[key].capacity
            if capacity is None or used[key] < capacity or key == playbook.default_action:
                used[key] += 1
                chosen.append(key)
                break
    return chosen
