"""Champion decision: the first model, or one that beats both the champion on the same window and
the strongest simple baseline fitted on the same rows, and that lacks no source the champion used
(unless `allow_fewer_sources`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from models.metrics import HIGHER_IS_BETTER, is_better


@dataclass(frozen=True)
class BaselineVerdict:
    """The strongest baseline by ROC AUC on the model's validation rows, against the model."""

    name: str
    roc_auc: float
    model_roc_auc: float

    @property
    def margin(self) -> float:
        """Model minus baseline ROC AUC: above 0, the model wins."""
        return self.model_roc_auc - self.roc_auc

    @property
    def beaten(self) -> bool:
        return self.margin > 0

    def describe(self) -> str:
        verb = "beats" if self.beaten else "is below"
        return (f"ROC AUC {self.model_roc_auc:.4f} {verb} the strongest baseline, {self.name} "
                f"({self.roc_auc:.4f}), by {abs(self.margin):.4f}")


def strongest_baseline(baselines: dict[str, dict[str, float]], model_roc_auc: float) -> BaselineVerdict | None:
    """The baseline with the highest ROC AUC (ties: the first listed), or None without any."""
    graded = [(name, figures["roc_auc"]) for name, figures in baselines.items() if "roc_auc" in figures]
    if not graded:
        return None
    name, auc = max(graded, key=lambda kv: kv[1])
    return BaselineVerdict(name, float(auc), float(model_roc_auc))


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    compared_with: str | None = None    # the champion's version
    champion_value: float | None = None
    difference: float | None = None     # new minus champion, in the metric's own units
    below_baseline: str = ""            # the figures, when the strongest baseline beat the model
    missing_sources: str = ""           # sources the champion was trained with that the new model lacks


def missing_sources(champion_sources: tuple[str, ...] | list[str], new_sources: tuple[str, ...] | list[str]
                    ) -> tuple[str, ...]:
    """The sources (events, surveys, tickets) the champion was trained with and the new model lacks,
    in the champion's order."""
    return tuple(source for source in champion_sources if source not in set(new_sources))


def decide(metric: str, new_value: float, champion_value: float | None, margin: float,
           champion_version: str | None = None, baseline: BaselineVerdict | None = None,
           must_beat_baseline: bool = True, lacking: tuple[str, ...] = (),
           allow_fewer_sources: bool = False) -> Decision:
    """The first model always becomes champion (a first install must be able to score), marked when a
    baseline beat it; a later one only when it beats the champion, (unless `must_beat_baseline` is
    off) the strongest baseline's ROC AUC, and (unless `allow_fewer_sources`) lacks no source of the
    champion's (`lacking`); the reason names a lacking source whatever the outcome."""
    decision = _on_figures(metric, new_value, champion_value, margin, champion_version, baseline, must_beat_baseline)
    if champion_version is None or not lacking:
        return decision
    note = f"the new model lacks {', '.join(lacking)}, which champion v{champion_version} was trained with"
    if not decision.promote:
        reason = f"{decision.reason}; {note}"
    elif allow_fewer_sources:
        reason = f"{decision.reason}; promoted although {note} (training.allow_fewer_sources: true)"
    else:
        reason = f"{decision.reason}; not promoted: {note} (training.allow_fewer_sources: false)"
    return replace(decision, promote=decision.promote and allow_fewer_sources, reason=reason,
                   missing_sources=",".join(lacking))


def _on_figures(metric: str, new_value: float, champion_value: float | None, margin: float,
                champion_version: str | None, baseline: BaselineVerdict | None,
                must_beat_baseline: bool) -> Decision:
    """The decision on the figures alone: the champion's and the strongest baseline's."""
    below = "" if baseline is None or baseline.beaten else baseline.describe()
    blocked = bool(below) and must_beat_baseline
    if champion_version is None:
        return Decision(True, "first registered model" + (f"; {below}" if below else ""), below_baseline=below)
    if champion_value is None:
        reason = f"champion v{champion_version} could not be evaluated on this window"
        return Decision(not blocked, reason + (f"; not promoted: {below}" if blocked else ""),
                        compared_with=champion_version, below_baseline=below)
    difference = new_value - champion_value
    better = "higher" if HIGHER_IS_BETTER[metric] else "lower"
    figures = f"({champion_value:.4f}; {better} is better, margin {margin})"
    if not is_better(metric, new_value, champion_value, margin):
        return Decision(False, f"{metric} {new_value:.4f} does not beat champion v{champion_version} {figures}",
                        champion_version, champion_value, difference, below)
    if blocked:
        return Decision(False, f"{metric} {new_value:.4f} beats champion v{champion_version} {figures}, but {below}",
                        champion_version, champion_value, difference, below)
    return Decision(True, f"{metric} {new_value:.4f} beats champion v{champion_version} {figures}",
                    champion_version, champion_value, difference, below)
