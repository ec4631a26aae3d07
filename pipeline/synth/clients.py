"""The client base and its hidden health.

What the clients table shows (signup, plan, contract, region, seats, value) and what it never does:
each client's own health level, activity, channel mix and survey phase; the monthly step of health,
the daily churn hazard it drives, and the burn-in that gives long-standing clients a settled state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from pipeline.synth.interactions import draw_friction, interaction_logit
from pipeline.synth.parameters import (
    ACTIVITY_SEATS_POWER,
    ACTIVITY_SIGMA,
    ANNUAL_DISCOUNT,
    ANNUAL_SHARE_BY_PLAN,
    APP_SHARE_BETA,
    BACKGROUND_DAILY_HAZARD,
    BASE_HEALTH_SIGMA,
    BURN_IN_MONTHS,
    CHURN_BASE_LOGIT,
    CHURN_BREACH_CAP,
    CHURN_BREACH_LOGIT,
    CHURN_HEALTH_SLOPE,
    CHURN_NEW_CLIENT_LOGIT,
    CONTRACT_CHURN_LOGIT,
    DISENGAGE_DRIFT,
    DISENGAGE_ENTER_PROB,
    DISENGAGE_RECOVER_PROB,
    HAZARD_DAYS,
    HEALTH_NOISE_SIGMA,
    HEALTH_REVERSION,
    NEW_CLIENT_DAYS,
    PLAN_CHURN_LOGIT,
    PLAN_SHARE,
    PLANS,
    PRE_WINDOW_MAX_DAYS,
    PRE_WINDOW_SHARE,
    PRICE_NOISE_SIGMA,
    PRICE_PER_SEAT,
    REGION_SHARE,
    REGIONS,
    SEATS_EXTRA_MEAN,
    SHOCK_MIN,
    SHOCK_PROB,
    SHOCK_SCALE,
    START_HEALTH_SIGMA,
    SURVEY_EVERY_MONTHS,
)
from pipeline.synth.profiles import DEFAULT_PROFILE, Profile
from pipeline.synth.window import Calendar


@dataclass(frozen=True)
class Clients:
    signup_day: np.ndarray  # int64 days since epoch, sorted: ids follow signup order
    plan: np.ndarray  # index into PLANS
    contract: np.ndarray  # index into CONTRACTS
    region: np.ndarray  # index into REGIONS
    seats: np.ndarray
    monthly_value: np.ndarray
    # Hidden, never written:
    base_health: np.ndarray
    start_health: np.ndarray
    start_disengaging: np.ndarray
    activity: np.ndarray
    app_share: np.ndarray
    survey_phase: np.ndarray
    friction: np.ndarray | None = None  # the interactions profile's hidden error-proneness (0 or 1)

    def __len__(self) -> int:
        return len(self.signup_day)


def draw_clients(rng: np.random.Generator, n: int, calendar: Calendar, profile: Profile = DEFAULT_PROFILE) -> Clients:
    window_start, end_day = int(calendar.month_starts[0]), calendar.end_day
    pre_window = rng.random(n) < PRE_WINDOW_SHARE
    signup = np.where(
        pre_window,
        window_start - 1 - rng.integers(0, PRE_WINDOW_MAX_DAYS, n),
        rng.integers(window_start, end_day + 1, n),
    )
    # Sort before drawing anything else so ids follow signup order, like a real sequence.
    signup = np.sort(signup)
    pre_window = signup < window_start

    plan = rng.choice(len(PLANS), n, p=PLAN_SHARE)
    contract = (rng.random(n) < np.asarray(ANNUAL_SHARE_BY_PLAN)[plan]).astype(np.int64)
    region = rng.choice(len(REGIONS), n, p=REGION_SHARE)
    seats = 1 + rng.poisson(np.asarray(SEATS_EXTRA_MEAN)[plan])
    price = np.asarray(PRICE_PER_SEAT)[plan] * seats * rng.lognormal(0.0, PRICE_NOISE_SIGMA, n)
    price = np.where(contract == 1, price * ANNUAL_DISCOUNT, price)

    base_health = rng.normal(0.0, BASE_HEALTH_SIGMA, n)
    start_health = base_health + rng.normal(0.0, START_HEALTH_SIGMA, n)
    activity = rng.lognormal(0.0, ACTIVITY_SIGMA, n) * seats**ACTIVITY_SEATS_POWER
    clients = Clients(
        signup_day=signup.astype(np.int64),
        plan=plan,
        contract=contract,
        region=region,
        seats=seats.astype(np.int64),
        monthly_value=np.round(price, 2),
        base_health=base_health,
        start_health=start_health,
        activity=activity,
        app_share=rng.beta(*APP_SHARE_BETA, n),
        survey_phase=rng.integers(0, SURVEY_EVERY_MONTHS, n),
        start_disengaging=np.zeros(n, dtype=bool),
        friction=draw_friction(rng, n) if profile.interactions else None,
    )
    return burn_in(rng, clients, pre_window, profile)


def burn_in(rng: np.random.Generator, clients: Clients, pre_window: np.ndarray, profile: Profile) -> Clients:
    """Give the clients already there when the window opens the state a history would leave."""
    n = len(clients)
    health, disengaging = clients.start_health.copy(), clients.start_disengaging.copy()
    settled = np.full(n, np.inf)  # long-standing clients: the onboarding term has faded
    for _ in range(BURN_IN_MONTHS):
        hazard = daily_hazard(clients, health, np.zeros(n), settled, profile)
        leaves = rng.random(n) < -np.expm1(-HAZARD_DAYS * hazard)
        health, disengaging = step_health(rng, clients, health, disengaging)
        # The one who left is replaced by a client like it that is still here: a fresh start.
        health = np.where(leaves, clients.base_health + rng.normal(0.0, START_HEALTH_SIGMA, n), health)
        disengaging &= ~leaves
    return replace(
        clients,
        start_health=np.where(pre_window, health, clients.start_health),
        start_disengaging=pre_window & disengaging,
    )


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def portable(probability: np.ndarray) -> np.ndarray:
    """`probability` on the float32 grid (still float64): the same bytes on every CPU. numpy's exp, expm1
    and log1p take other SIMD paths on AVX-512 than on AVX2 and differ in the last bit; a value written
    as computed would make truth.parquet's bytes follow the machine, not the seed."""
    return np.asarray(probability, dtype=np.float64).astype(np.float32).astype(np.float64)


def daily_hazard(
    clients: Clients,
    health: np.ndarray,
    breaches: np.ndarray,
    tenure_days: np.ndarray,
    profile: Profile = DEFAULT_PROFILE,
) -> np.ndarray:
    """Daily churn hazard for the coming month, from the state at the end of the month before."""
    if profile.interactions:
        logit = interaction_logit(clients.plan, clients.contract, clients.friction, health, breaches, tenure_days)
    else:
        logit = default_logit(clients, health, breaches, tenure_days)
    if profile.churn_logit_shift:  # left out at 0.0, so the default files stay byte for byte
        logit = logit + profile.churn_logit_shift
    # a logit past ~37 makes the monthly probability 1.0 and the hazard infinite: that client leaves at
    # once, as it should, without numpy's divide-by-zero warning on the console of `churn generate`
    with np.errstate(divide="ignore"):
        return -np.log1p(-sigmoid(logit)) / HAZARD_DAYS + BACKGROUND_DAILY_HAZARD


def default_logit(
    clients: Clients, health: np.ndarray, breaches: np.ndarray, tenure_days: np.ndarray
) -> np.ndarray:
    """The default world's monthly churn logit: health, breaches, onboarding, plan and contract."""
    return (
        CHURN_BASE_LOGIT
        - CHURN_HEALTH_SLOPE * health
        + CHURN_BREACH_LOGIT * np.minimum(breaches, CHURN_BREACH_CAP)
        + CHURN_NEW_CLIENT_LOGIT * np.exp(-np.maximum(tenure_days, 0) / NEW_CLIENT_DAYS)
        + np.asarray(PLAN_CHURN_LOGIT)[clients.plan]
        + np.asarray(CONTRACT_CHURN_LOGIT)[clients.contract]
    )


def step_health(
    rng: np.random.Generator, clients: Clients, health: np.ndarray, disengaging: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = len(health)
    noise = rng.normal(0.0, HEALTH_NOISE_SIGMA, n)
    shock = (rng.random(n) < SHOCK_PROB) * (SHOCK_MIN + rng.exponential(SHOCK_SCALE, n))
    enter = rng.random(n) < DISENGAGE_ENTER_PROB
    recover = rng.random(n) < DISENGAGE_RECOVER_PROB
    disengaging = np.where(disengaging, ~recover, enter)
    # A drifting client stops being pulled back to its own level; a recovered one is again.
    pull = np.where(disengaging, -DISENGAGE_DRIFT, HEALTH_REVERSION * (clients.base_health - health))
    return health + pull + noise - shock, disengaging
