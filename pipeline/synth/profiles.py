"""Generator profiles: named worlds the generator can write, each a frozen set of parameters.

- `default`: the generator as it always was (its files stay byte for byte the same).
- `snapshot`: a third-party telecom-style extract: one extract date (`end`), static attributes,
  an additive logistic churn signal over them, churn within the 30 days after the extract and
  no activity log (pipeline.synth.snapshot).
- `sparse`: the default world with a thin event log (about three events per active client a
  month against about 19), few tickets and survey answers, and a lower monthly churn (about 2%
  against about 3%: some 150-250 churners a month at 15,000 clients).
- `interactions`: the default world whose churn comes from effects that only combine (errors by
  plan, an SLA breach on an unhappy client), each factor alone weak (pipeline.synth.interactions).

A parameter at its neutral value (a scale of 1.0, a shift of 0.0) leaves the computation it
enters exactly as in the default world.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_PROFILE", "PROFILES", "Profile", "profile_named"]


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    snapshot: bool = False  # a distinct code path: one extract date, no activity log
    activity_scale: float = 1.0  # every expected event rate times this
    churn_logit_shift: float = 0.0  # added to the monthly churn logit of every client
    ticket_rate_scale: float = 1.0  # tickets opened per month times this
    survey_response_shift: float = 0.0  # added to the logit of answering a survey
    interactions: bool = False  # churn hazard from combined effects (pipeline.synth.interactions)


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile("default", "the default world: ~19 events per client a month, ~3% monthly churn"),
        Profile(
            "snapshot",
            "a telecom-style snapshot at the end date: static attributes, additive churn, ~23% churn in 30 days",
            snapshot=True,
        ),
        Profile(
            "sparse",
            "a thin log: ~3 events per client a month, few tickets and surveys, ~2% monthly churn",
            activity_scale=0.15,
            churn_logit_shift=-1.45,
            ticket_rate_scale=0.4,
            survey_response_shift=-1.2,
        ),
        Profile(
            "interactions",
            "churn from effects that only combine (errors x plan, SLA breach x unhappy), ~3% monthly churn",
            ticket_rate_scale=1.0,
            interactions=True,
        ),
    )
}

DEFAULT_PROFILE = PROFILES["default"]


def profile_named(name: str | Profile) -> Profile:
    """The profile called `name` (a Profile passes through); ValueError listing the names otherwise."""
    if isinstance(name, Profile):
        return name
    if name not in PROFILES:
        raise ValueError(f"unknown profile '{name}' (profiles: {', '.join(PROFILES)})")
    return PROFILES[name]
