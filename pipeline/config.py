"""The application config: typed, strict, loaded from YAML over built-in defaults.

`configs/default.yaml` spells out the defaults; a user file may set any subset. A wrong key
or value is a ContractError naming the key and the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.errors import ContractError
from features.spec import FeaturesConfig
from features.wording import Glossary
from models.config import TrainingConfig
from models.drift import DriftConfig
from models.evaluation import EvaluationConfig
from models.monitoring import MonitoringConfig
from models.segments import SegmentsConfig
from models.settings_file import read_yaml


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # a table whose rejected rows pass this share stops the run (exit 2)
    max_rejected_share: float = Field(0.01, ge=0, le=1)
    # a row dated more than this many days after the run's own day (UTC) is set aside in quarantine and
    # never chooses the as-of
    future_tolerance_days: int = Field(1, ge=0)
    # the longest text value, in characters, of an identifier or code (client_id, ticket_id, event_type,
    # channel, priority, category), a client attribute, or a date or number written as text; a row with a
    # longer one is set aside (quarantine, with its reason)
    max_text_length: int = Field(256, ge=1)
    # the same for free text (surveys.comment)
    max_comment_length: int = Field(10_000, ge=1)
    # the most columns a table may have (the clients' are all attributes): a wider one is refused (exit 2)
    max_columns: int = Field(1_000, ge=3)


class RegistryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    experiment: str = "churn"
    model_name: str = "churn"
    champion_alias: str = "champion"
    challenger_alias: str = "challenger"
    # the MLflow store when MLFLOW_TRACKING_URI is not set; unset: a sqlite file in the user's data folder
    # ($XDG_DATA_HOME/churn-pipeline/mlflow.db, or ~/.local/share/...): pipeline/tracking/store.py
    tracking_uri: str | None = None
    # how long to try reaching an MLflow server (http, https) before stopping (exit 2)
    connect_timeout_s: float = Field(10.0, gt=0)


class ScoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    lang: Literal["en", "es"] = "en"
    # who to call first: by expected value at risk, or by probability alone
    sort: Literal["value", "probability"] = "value"
    # the call sheet's length: a count of clients from 1, a share of the scored clients below 1, null
    # for no limit; evaluation grades at the same capacity (one setting for both)
    capacity: float | None = Field(0.05, gt=0)
    # stop the call sheet at the last client worth a contact: probability x evaluation.offer_acceptance_rate
    # x client value (monthly value x evaluation.client_value_months) above retention_cost_per_contact
    profit_cut: bool = True
    # the retention playbook (None: the one shipped in the package, pipeline/configs/playbook.yaml, the same
    # bytes as configs/playbook.yaml)
    playbook: str | None = None
    # clients per hash partition: memory follows this, not the data (fewer clients: one pass)
    partition_clients: int = Field(250_000, ge=1)
    # rows of any one table per partition, so a heavy event log also splits (events per client vary)
    partition_rows: int = Field(20_000_000, ge=1)
    # published runs kept under runs/ (the current one is never removed)
    keep_runs: int = Field(7, ge=1)
    # days of history (lists and scores, for previous ranks and monitoring) kept before the as-of
    keep_history_days: int = Field(400, ge=1)
    # a feature the model needs that the data cannot provide: stop (exit 3) or warn and read it as missing
    missing_features: Literal["stop", "warn"] = "stop"
    # a run scoring no client, or fewer than this share of the clients the published run scored, stops
    # (exit 3) and keeps the published list (0: only a run scoring no client stops)
    min_scored_share: float = Field(0.5, ge=0, le=1)


class EngineConfig(BaseModel):
    """Where the work runs: this process (local) or a Dask cluster (dask)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["local", "dask"] = "local"
    # a running cluster's scheduler, e.g. tcp://scheduler:8786; null starts a LocalCluster for the run
    scheduler: str | None = None
    # how long to try reaching that scheduler before the run stops (exit 2)
    connect_timeout_s: float = Field(10.0, gt=0)
    # the LocalCluster started when no scheduler is given
    workers: int = Field(2, ge=1)
    threads_per_worker: int = Field(1, ge=1)
    memory_limit: str = "auto"  # per worker, as Dask reads it ("4GiB", "auto": the machine / workers)
    # where workers write partitioned outputs (scores, features): a folder or fsspec URL every worker
    # and this process can reach; null: <out>/.work on this machine (a LocalCluster, a shared disk)
    work_url: str | None = None


class AppConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    data: DataConfig = DataConfig()
    features: FeaturesConfig = FeaturesConfig()
    training: TrainingConfig = TrainingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    registry: RegistryConfig = RegistryConfig()
    segments: SegmentsConfig = SegmentsConfig()
    scoring: ScoringConfig = ScoringConfig()
    drift: DriftConfig = DriftConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    engine: EngineConfig = EngineConfig()
    glossary: Glossary = Glossary()

    @model_validator(mode="before")
    @classmethod
    def _one_capacity(cls, values: Any) -> Any:
        if isinstance(values, dict) and "team_capacity" in (values.get("evaluation") or {}):
            raise ValueError("evaluation.team_capacity is now scoring.capacity: one setting for the call sheet "
                             "and its grading")
        return values

    @model_validator(mode="after")
    def _capacity_everywhere(self) -> AppConfig:
        if self.evaluation.team_capacity != self.scoring.capacity:
            # frozen models: the evaluation settings take the scoring capacity once, here
            object.__setattr__(self, "evaluation",
                               self.evaluation.model_copy(update={"team_capacity": self.scoring.capacity}))
        return self

    @field_validator("scoring")
    @classmethod
    def _whole_count(cls, scoring: ScoringConfig) -> ScoringConfig:
        if scoring.capacity is not None and scoring.capacity >= 1 and not float(scoring.capacity).is_integer():
            raise ValueError(f"capacity {scoring.capacity}: a whole number of clients from 1, or a share below 1")
        return scoring


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> AppConfig:
    """Defaults, then the YAML file at `path`, then `overrides` (CLI flags)."""
    values: dict[str, Any] = {}
    source = "command-line flags"
    if path is not None:
        path = Path(path)
        source = str(path)
        # a regular file, size and aliases bounded (a folder, a FIFO, /dev/zero, a "billion laughs": exit 2)
        loaded = read_yaml(path, "config file") or {}
        if not isinstance(loaded, dict):
            raise ContractError("must hold a mapping of settings", file=source)
        values = loaded
    if overrides:
        values = merge(values, overrides)
    try:
        return AppConfig.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        problem = "unknown key" if first["type"] == "extra_forbidden" else first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = f"config key '{key}': {problem}{more}" if key else f"{problem}{more}"
        raise ContractError(message, file=source) from None


def defaults_as_yaml() -> str:
    return yaml.safe_dump(AppConfig().model_dump(mode="json"), sort_keys=False)
