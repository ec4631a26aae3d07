"""The `interactions` profile's churn: effects that only combine, so trees beat a linear model.

Each client carries a hidden *friction* (high for half of them) that multiplies its error
events, and nothing else. The monthly churn logit then has, besides a weak health term and the
default world's onboarding and contract terms:

- an XOR of friction and plan: a self-serve `basic` client with many errors leaves (nobody helps
  it through them), and a team-plan client with *few* errors leaves too (errors come with deep
  use: a quiet team plan is one nobody really uses). Half the clients sit in each of the
  plan groups and of the friction groups, so neither errors nor plan alone says anything;
- an SLA breach last month raises the hazard only for an unhappy client (health below a
  threshold, seen as detractor answers and fading use), not for a content one;
- a client whose health has fallen far leaves: a step at a threshold, not a slope.
"""

from __future__ import annotations

import numpy as np

from pipeline.synth.parameters import (
    CHURN_NEW_CLIENT_LOGIT,
    CONTRACT_CHURN_LOGIT,
    EVENT_TYPES,
    NEW_CLIENT_DAYS,
    PLANS,
)

FRICTION_HIGH_SHARE = 0.5
ERROR_RATE_FACTOR = (0.3, 8.0)  # error events per active day times this, for low and high friction
INTERACTION_BASE_LOGIT = -6.5
INTERACTION_HEALTH_SLOPE = 0.3  # a weak main effect of health
XOR_LOGIT = 3.5  # (high friction on basic) or (low friction on a team plan)
BREACH_UNHAPPY_LOGIT = 2.2  # an SLA breach last month on a client whose health is below ...
UNHAPPY_HEALTH = -0.3  # ... this
# Clients who drifted far away still leave (else they would stay forever, writing ever more
# tickets): a step, not a slope, so it is no linear effect either.
GONE_LOGIT = 3.0
GONE_HEALTH = -1.5


def draw_friction(rng: np.random.Generator, n: int) -> np.ndarray:
    """1 for a high-friction client, 0 otherwise."""
    return (rng.random(n) < FRICTION_HIGH_SHARE).astype(np.int8)


def event_rate_factors(friction: np.ndarray) -> np.ndarray:
    """(clients, event types) multipliers of the expected event counts: friction moves errors only."""
    factors = np.ones((len(friction), len(EVENT_TYPES)))
    factors[:, EVENT_TYPES.index("error")] = np.asarray(ERROR_RATE_FACTOR)[friction]
    return factors


def interaction_logit(
    plan: np.ndarray,
    contract: np.ndarray,
    friction: np.ndarray,
    health: np.ndarray,
    breaches: np.ndarray,
    tenure_days: np.ndarray,
) -> np.ndarray:
    """The monthly churn logit of the interactions world."""
    basic = plan == PLANS.index("basic")
    xor = (friction == 1) == basic
    unhappy_breach = (np.asarray(breaches) > 0) & (health < UNHAPPY_HEALTH)
    return (
        INTERACTION_BASE_LOGIT
        - INTERACTION_HEALTH_SLOPE * health
        + XOR_LOGIT * xor
        + BREACH_UNHAPPY_LOGIT * unhappy_breach
        + GONE_LOGIT * (health < GONE_HEALTH)
        + CHURN_NEW_CLIENT_LOGIT * np.exp(-np.maximum(tenure_days, 0) / NEW_CLIENT_DAYS)
        + np.asarray(CONTRACT_CHURN_LOGIT)[contract]
    )
