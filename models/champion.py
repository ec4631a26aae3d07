"""Champion decision: the first model, or one that beats the champion on the same window."""

from __future__ import annotations

from dataclasses import dataclass

from models.metrics import HIGHER_IS_BETTER, is_better


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    compared_with: str | None = None    # the champion's version
    champion_value: float | None = None
    difference: float | None = None     # new minus champion, in the metric's own units


def decide(metric: str, new_value: float, champion_value: float | None, margin: float,
           champion_version: str | None = None) -> Decision:
    if champion_version is None:
        return Decision(True, "first registered model")
    if champion_value is None:
        return Decision(True, f"champion v{champion_version} could not be evaluated on this window",
                        compared_with=champion_version)
    difference = new_value - champion_value
    better = "higher" if HIGHER_IS_BETTER[metric] else "lower"
    if is_better(metric, new_value, champion_value, margin):
        return Decision(True, f"{metric} {new_value:.4f} beats champion v{champion_version} ({champion_value:.4f}; "
                              f"{better} is better, margin {margin})", champion_version, champion_value, difference)
    return Decision(False, f"{metric} {new_value:.4f} does not beat champion v{champion_version} "
                           f"({champion_value:.4f}; {better} is better, margin {margin})",
                    champion_version, champion_value, difference)
