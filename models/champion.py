"""Champion decision: the first model, or one that beats the champion on the same window."""

from __future__ import annotations

from dataclasses import dataclass

from models.metrics import is_better


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def decide(metric: str, new_value: float, champion_value: float | None, margin: float,
           champion_version: str | None = None) -> Decision:
    if champion_version is None:
        return Decision(True, "first registered model")
    if champion_value is None:
        return Decision(True, f"champion v{champion_version} could not be evaluated on this window")
    if is_better(metric, new_value, champion_value, margin):
        return Decision(True, f"{metric} {new_value:.4f} beats champion v{champion_version} ({champion_value:.4f})")
    return Decision(False, f"{metric} {new_value:.4f} does not beat champion v{champion_version} "
                           f"({champion_value:.4f}, margin {margin})")
