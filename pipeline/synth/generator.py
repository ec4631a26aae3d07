"""Synthetic churn data in the input contract, reproducible from a seed.

Writes the five contract tables (clients, events, surveys, tickets, churn) plus ``truth``: the
generator's own probability that each active client churns in the 30 days after each month-end.

How the world works, in one paragraph: every client carries a hidden monthly *health* that
wanders (mean-reverting noise), takes occasional negative shocks, and sometimes enters a
disengaging drift. The churn hazard of a month is a function of the health at the end of the
month before, the support SLA breaches the client suffered in that month, how new the client is,
its plan and contract, plus a constant background hazard that no signal explains. Everything the
contract tables show is a noisy view of health: healthy clients log in and use features more,
unhappy ones hit more errors, abandon carts, open more tickets, answer surveys less often and give
lower scores. So activity fades before a client leaves because health fades, never because the
churn date is peeked at.

Everything is vectorised with numpy; the only Python loop runs over the months (the hidden state
is a Markov chain in time), each step vectorised across clients. A single
``np.random.default_rng(seed)`` drives every draw in a fixed order and nothing time-dependent is
written, so the same arguments give byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["DEFAULT_END", "generate"]

DEFAULT_END = date(2025, 12, 31)

SECONDS_PER_DAY = 86_400
TRUTH_HORIZON_DAYS = 30

# --- Client base --------------------------------------------------------------------------
PLANS = ("basic", "standard", "premium")
PLAN_SHARE = (0.50, 0.35, 0.15)
SEATS_EXTRA_MEAN = (0.5, 4.0, 20.0)  # seats = 1 + Poisson(mean): premium clients are teams
PRICE_PER_SEAT = (19.0, 15.0, 12.0)  # volume discount per seat on bigger plans
PRICE_NOISE_SIGMA = 0.35  # lognormal spread from add-ons and negotiated discounts
ANNUAL_DISCOUNT = 0.85
CONTRACTS = ("monthly", "annual")
ANNUAL_SHARE_BY_PLAN = (0.20, 0.35, 0.60)
REGIONS = ("north", "south", "east", "west", "central")
REGION_SHARE = (0.30, 0.25, 0.20, 0.15, 0.10)
CLIENT_ID_WIDTH = 7

PRE_WINDOW_SHARE = 0.60  # clients already signed up when the window opens
PRE_WINDOW_MAX_DAYS = 4 * 365  # the oldest signed up about four years before the window

# --- Hidden health ------------------------------------------------------------------------
BASE_HEALTH_SIGMA = 0.50  # clients differ in how well the product fits them, for good
HEALTH_NOISE_SIGMA = 0.25  # month-to-month wander
HEALTH_REVERSION = 0.15  # share of the gap to the client's own level closed each month
SHOCK_PROB = 0.03  # a bad month: outage, price rise, champion leaves the client's company
SHOCK_MIN = 0.6
SHOCK_SCALE = 0.6  # shock size = SHOCK_MIN + Exponential(SHOCK_SCALE), always negative
DISENGAGE_ENTER_PROB = 0.015  # monthly chance of starting to drift away
DISENGAGE_RECOVER_PROB = 0.10  # monthly chance a drifting client is won back
DISENGAGE_DRIFT = 0.45  # health lost per month while drifting
START_HEALTH_SIGMA = 0.45  # a new client starts near its own level
# Clients already there when the window opens have a history: run the health process this many
# months first (a client lost during it is replaced by a fresh one), so the window opens on a
# settled mix of healthy, shocked and drifting clients instead of a churn rate still climbing.
BURN_IN_MONTHS = 24

# --- Churn hazard -------------------------------------------------------------------------
# Monthly churn probability from the signal = sigmoid(logit) over HAZARD_DAYS days; the daily
# hazard is constant within a month, so a churn date is an exponential draw inside the month.
HAZARD_DAYS = 30
CHURN_BASE_LOGIT = -5.6
CHURN_HEALTH_SLOPE = 2.4  # logit added per unit of health lost
CHURN_BREACH_LOGIT = 0.45  # per SLA breach suffered last month ...
CHURN_BREACH_CAP = 3  # ... counting at most this many
CHURN_NEW_CLIENT_LOGIT = 1.0  # onboarding failures: new clients churn more ...
NEW_CLIENT_DAYS = 90.0  # ... fading with this time scale
PLAN_CHURN_LOGIT = (0.20, 0.0, -0.20)
CONTRACT_CHURN_LOGIT = (0.0, -0.50)
BACKGROUND_DAILY_HAZARD = 0.003 / 30  # moves, bankruptcies: churn no signal explains

# --- Events -------------------------------------------------------------------------------
EVENT_TYPES = ("login", "page_view", "feature_use", "purchase", "cart_abandon", "error")
EVENT_DAILY_RATE = (0.13, 0.17, 0.065, 0.013, 0.008, 0.010)  # per active day at health 0
EVENT_HEALTH_SLOPE = (0.60, 0.60, 0.80, 0.50, -0.30, -0.50)  # log-rate per unit of health
EVENT_MONTH_NOISE = 0.25  # busy and quiet months that have nothing to do with health
ACTIVITY_SIGMA = 0.35  # heavy and light users: raw counts alone say little about health
ACTIVITY_SEATS_POWER = 0.30  # more seats, more people using the product
CHANNELS = ("web", "app", "email")
EMAIL_SHARE_BY_TYPE = (0.0, 0.10, 0.0, 0.08, 0.15, 0.0)  # clicks from newsletters, reminders
APP_SHARE_BETA = (2.0, 2.0)  # each client has its own web/app mix
PURCHASE_MEDIAN = 40.0
PURCHASE_SIGMA = 0.8
PAGE_VIEW_MEDIAN_SECONDS = 45.0
PAGE_VIEW_SIGMA = 0.9

# --- Surveys ------------------------------------------------------------------------------
SURVEY_EVERY_MONTHS = 3  # each client is asked once a quarter, in its own phase
SURVEY_RESPONSE_LOGIT = -0.3
SURVEY_RESPONSE_HEALTH = 0.9  # unhappy clients answer less often
SURVEY_SCORE_CENTRE = 7.8
SURVEY_SCORE_HEALTH = 1.6
SURVEY_SCORE_NOISE = 1.2
COMMENT_PROB_DETRACTOR = 0.45
COMMENT_PROB_OTHER = 0.20
COMMENTS_DETRACTOR = (
    "El soporte tarda demasiado en responder",
    "Demasiados errores en la aplicación",
    "El precio no compensa",
    "Estoy valorando otras opciones",
    "No encuentro lo que necesito",
)
COMMENTS_PASSIVE = (
    "Correcto, aunque mejorable",
    "Cumple, sin más",
    "Echo de menos algunas funciones",
    "Bien en general",
)
COMMENTS_PROMOTER = (
    "Muy buen servicio",
    "La aplicación funciona genial",
    "El equipo de soporte es excelente",
    "Lo recomiendo sin dudarlo",
)

# --- Tickets ------------------------------------------------------------------------------
TICKET_MONTHLY_RATE = 0.12  # per 30 active days at health 0
TICKET_HEALTH_SLOPE = 0.70  # unhappy clients write in more
PRIORITIES = ("low", "medium", "high", "urgent")
PRIORITY_SHARE = (0.35, 0.35, 0.20, 0.10)
SLA_FIRST_RESPONSE_HOURS = (24.0, 8.0, 4.0, 1.0)
RESPONSE_MEDIAN_HOURS = (10.0, 4.0, 1.5, 0.4)
RESPONSE_SIGMA = 0.9
RESOLUTION_MEDIAN_HOURS = (48.0, 24.0, 12.0, 4.0)  # after the first response
RESOLUTION_SIGMA = 1.0
UNANSWERED_PROB = 0.04  # fall through the cracks, never answered
UNRESOLVED_PROB = 0.05  # answered but never closed
SLOW_MONTH_PROB = 0.15  # support backlog months: everything takes longer ...
SLOW_MONTH_FACTOR = 2.5  # ... by this factor
SUPPORT_MONTH_SIGMA = 0.15  # small month-to-month variation in support speed
CATEGORIES = ("billing", "technical", "account", "other")
CATEGORY_SHARE = (0.30, 0.40, 0.20, 0.10)
SATISFACTION_ANSWER_PROB = 0.60
SATISFACTION_CENTRE = 4.2
SATISFACTION_SLOWNESS = 0.5  # stars lost per doubling of the expected time to resolution
SATISFACTION_BREACH = 0.8
SATISFACTION_HEALTH = 0.4
SATISFACTION_NOISE = 0.7
TICKET_ID_WIDTH = 8

# --- Output -------------------------------------------------------------------------------
PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "use_dictionary": True}
ROW_GROUP_ROWS = 1 << 20
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
_MISSING = -1  # internal marker for a null time or rating


@dataclass(frozen=True)
class _Calendar:
    """Month boundaries of the window, as days since the Unix epoch."""

    month_starts: np.ndarray  # months + 1 entries: the last is the month after `end`'s month
    end_day: int  # the last day with data

    @property
    def months(self) -> int:
        return len(self.month_starts) - 1

    def bounds(self, m: int) -> tuple[int, int]:
        """First day and the day after the last day of month m, cut at `end`."""
        return int(self.month_starts[m]), min(int(self.month_starts[m + 1]), self.end_day + 1)

    def month_end(self, m: int) -> int:
        return int(self.month_starts[m + 1]) - 1


@dataclass(frozen=True)
class _Clients:
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

    def __len__(self) -> int:
        return len(self.signup_day)


@dataclass(frozen=True)
class _History:
    health: np.ndarray  # (clients, months) float32: health during (and at the end of) each month
    churn_day: np.ndarray  # int64 day of churn; a day far after `end` when the client stays
    tickets: dict[str, np.ndarray]  # raw columns, times in epoch seconds, _MISSING for none
    truth: pa.Table  # with the internal "client" index


def generate(
    out: Path,
    n_clients: int = 5000,
    seed: int = 7,
    end: date = DEFAULT_END,
    months: int = 18,
    activity_scale: float = 1.0,
) -> dict[str, int]:
    """Write clients/events/surveys/tickets/churn/truth .parquet into `out` (created if needed); return row counts per table.

    `activity_scale` multiplies every client's expected event rate (all types alike), so the event
    volume scales with it (about 224 events per client at 1.0; benchmarks use about 0.22 for 50).
    Clients, churn, tickets and truth stay the same files; surveys are drawn after the events, so
    they are other draws from the same distribution. 1.0 gives exactly the default files.
    """
    if n_clients < 1:
        raise ValueError(f"n_clients must be at least 1, got {n_clients}")
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    if not activity_scale > 0:
        raise ValueError(f"activity_scale must be positive, got {activity_scale}")
    rng = np.random.default_rng(seed)
    calendar = _calendar(end, months)
    clients = _draw_clients(rng, n_clients, calendar)
    history = _simulate(rng, clients, calendar)
    start_s, stop_s = _active_seconds(clients, history.churn_day, calendar)
    ids = _client_ids(n_clients)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {
        "clients": _write(_clients_table(clients, ids), out / "clients.parquet"),
        "events": _write_events(rng, clients, history.health, start_s, stop_s, ids, out / "events.parquet",
                                activity_scale),
        "surveys": _write(_surveys_table(rng, clients, history.health, start_s, stop_s, ids), out / "surveys.parquet"),
        "tickets": _write(_tickets_table(history.tickets, calendar, ids), out / "tickets.parquet"),
        "churn": _write(_churn_table(history.churn_day, calendar, ids), out / "churn.parquet"),
        "truth": _write(_with_client_ids(history.truth, ids), out / "truth.parquet"),
    }
    return counts


# --- World --------------------------------------------------------------------------------


def _calendar(end: date, months: int) -> _Calendar:
    last = np.datetime64(end, "M")
    starts = np.arange(last - (months - 1), last + 2, dtype="datetime64[M]")
    return _Calendar(
        month_starts=starts.astype("datetime64[D]").astype(np.int64),
        end_day=int(np.datetime64(end, "D").astype(np.int64)),
    )


def _draw_clients(rng: np.random.Generator, n: int, calendar: _Calendar) -> _Clients:
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
    clients = _Clients(
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
    )
    return _burn_in(rng, clients, pre_window)


def _burn_in(rng: np.random.Generator, clients: _Clients, pre_window: np.ndarray) -> _Clients:
    """Give the clients already there when the window opens the state a history would leave."""
    n = len(clients)
    health, disengaging = clients.start_health.copy(), clients.start_disengaging.copy()
    settled = np.full(n, np.inf)  # long-standing clients: the onboarding term has faded
    for _ in range(BURN_IN_MONTHS):
        leaves = rng.random(n) < -np.expm1(-HAZARD_DAYS * _daily_hazard(clients, health, np.zeros(n), settled))
        health, disengaging = _step_health(rng, clients, health, disengaging)
        # The one who left is replaced by a client like it that is still here: a fresh start.
        health = np.where(leaves, clients.base_health + rng.normal(0.0, START_HEALTH_SIGMA, n), health)
        disengaging &= ~leaves
    return replace(
        clients,
        start_health=np.where(pre_window, health, clients.start_health),
        start_disengaging=pre_window & disengaging,
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _daily_hazard(
    clients: _Clients, health: np.ndarray, breaches: np.ndarray, tenure_days: np.ndarray
) -> np.ndarray:
    """Daily churn hazard for the coming month, from the state at the end of the month before."""
    logit = (
        CHURN_BASE_LOGIT
        - CHURN_HEALTH_SLOPE * health
        + CHURN_BREACH_LOGIT * np.minimum(breaches, CHURN_BREACH_CAP)
        + CHURN_NEW_CLIENT_LOGIT * np.exp(-np.maximum(tenure_days, 0) / NEW_CLIENT_DAYS)
        + np.asarray(PLAN_CHURN_LOGIT)[clients.plan]
        + np.asarray(CONTRACT_CHURN_LOGIT)[clients.contract]
    )
    return -np.log1p(-_sigmoid(logit)) / HAZARD_DAYS + BACKGROUND_DAILY_HAZARD


def _step_health(
    rng: np.random.Generator, clients: _Clients, health: np.ndarray, disengaging: np.ndarray
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


def _simulate(rng: np.random.Generator, clients: _Clients, calendar: _Calendar) -> _History:
    """Run the hidden state month by month: churn dates, tickets (which feed back) and truth."""
    n, months = len(clients), calendar.months
    never = calendar.end_day + 100_000
    signup = clients.signup_day
    churn_day = np.full(n, never, dtype=np.int64)
    health = clients.start_health.copy()
    disengaging = clients.start_disengaging.copy()
    breaches = np.zeros(n, dtype=np.int64)
    hazard = _daily_hazard(clients, health, breaches, calendar.month_starts[0] - signup)
    support_factor = np.where(rng.random(months) < SLOW_MONTH_PROB, SLOW_MONTH_FACTOR, 1.0) * rng.lognormal(
        0.0, SUPPORT_MONTH_SIGMA, months
    )
    health_path = np.empty((n, months), dtype=np.float32)
    tickets, truth = [], []

    for m in range(months):
        first, stop = calendar.bounds(m)
        new = (signup >= first) & (signup < stop)
        # A client joining this month starts from its own state, with nothing to breach yet.
        hazard = np.where(new, _daily_hazard(clients, clients.start_health, np.zeros(n), 0.0), hazard)

        # Churn: memoryless, so a fresh exponential each month with that month's hazard is exact.
        # A client can leave from the day after signing up, so it is active on at least one day.
        exposure_start = np.maximum(first, signup + 1)
        wait = rng.exponential(1.0, n) / hazard
        leaves = (churn_day == never) & (signup < stop) & (exposure_start + wait < stop)
        churn_day = np.where(leaves, exposure_start + np.floor(wait).astype(np.int64), churn_day)

        stepped, stepped_disengaging = _step_health(rng, clients, health, disengaging)
        health = np.where(new, clients.start_health, stepped)
        disengaging = np.where(new, False, stepped_disengaging)
        health_path[:, m] = health

        month_tickets, breaches = _month_tickets(rng, clients, health, churn_day, first, stop, support_factor[m])
        tickets.append(month_tickets)
        hazard = _daily_hazard(clients, health, breaches, stop - signup)

        as_of = calendar.month_end(m)
        if as_of <= calendar.end_day:
            active = np.flatnonzero((signup <= as_of) & (churn_day > as_of))
            truth.append(
                pa.table(
                    {
                        "client": pa.array(active),
                        "as_of": pa.array(np.full(len(active), as_of, dtype=np.int32), pa.date32()),
                        # The hazard over the next 30 days is the one just computed; only the
                        # one or two days that spill into the month after (after a 28- to 30-day
                        # month) really follow next month's state, a negligible difference.
                        "p_true": pa.array(-np.expm1(-TRUTH_HORIZON_DAYS * hazard[active])),
                    }
                )
            )

    ticket_columns = {key: np.concatenate([month[key] for month in tickets]) for key in tickets[0]}
    return _History(health_path, churn_day, ticket_columns, pa.concat_tables(truth))


def _month_tickets(
    rng: np.random.Generator,
    clients: _Clients,
    health: np.ndarray,
    churn_day: np.ndarray,
    first: int,
    stop: int,
    support_factor: float,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Tickets opened in one month, and the SLA breaches per client they caused."""
    n = len(clients)
    start_s = np.maximum(first, clients.signup_day) * SECONDS_PER_DAY
    stop_s = np.minimum(stop, churn_day) * SECONDS_PER_DAY
    active_days = np.maximum(stop_s - start_s, 0) / SECONDS_PER_DAY
    rate = TICKET_MONTHLY_RATE * np.exp(-TICKET_HEALTH_SLOPE * health) * active_days / 30.0
    client = np.repeat(np.arange(n), rng.poisson(rate))
    k = len(client)
    opened = start_s[client] + (rng.random(k) * (stop_s - start_s)[client]).astype(np.int64)
    priority = rng.choice(len(PRIORITIES), k, p=PRIORITY_SHARE)
    category = rng.choice(len(CATEGORIES), k, p=CATEGORY_SHARE)

    response_h = np.asarray(RESPONSE_MEDIAN_HOURS)[priority] * support_factor * rng.lognormal(0.0, RESPONSE_SIGMA, k)
    resolution_h = (
        np.asarray(RESOLUTION_MEDIAN_HOURS)[priority] * support_factor * rng.lognormal(0.0, RESOLUTION_SIGMA, k)
    )
    answered = rng.random(k) >= UNANSWERED_PROB
    resolved = answered & (rng.random(k) >= UNRESOLVED_PROB)
    first_response = opened + np.ceil(response_h * 3600).astype(np.int64)
    resolved_at = first_response + np.ceil(resolution_h * 3600).astype(np.int64)
    breach = ~answered | (response_h > np.asarray(SLA_FIRST_RESPONSE_HOURS)[priority])

    # Slow tickets disappoint relative to what is normal for their priority.
    expected_h = np.asarray(RESPONSE_MEDIAN_HOURS)[priority] + np.asarray(RESOLUTION_MEDIAN_HOURS)[priority]
    stars = (
        SATISFACTION_CENTRE
        - SATISFACTION_SLOWNESS * np.log2((response_h + resolution_h) / expected_h)
        - SATISFACTION_BREACH * breach
        + SATISFACTION_HEALTH * health[client]
        + rng.normal(0.0, SATISFACTION_NOISE, k)
    )
    rated = rng.random(k) < SATISFACTION_ANSWER_PROB

    raw = {
        "client": client,
        "opened": opened,
        "first_response": np.where(answered, first_response, _MISSING),
        "resolved": np.where(resolved, resolved_at, _MISSING),
        "priority": priority,
        "category": category,
        "satisfaction": np.where(rated, np.clip(np.rint(stars), 1, 5), _MISSING).astype(np.int64),
    }
    return raw, np.bincount(client[breach], minlength=n)


def _active_seconds(
    clients: _Clients, churn_day: np.ndarray, calendar: _Calendar
) -> tuple[np.ndarray, np.ndarray]:
    """(clients, months) start and stop, in epoch seconds, of each client's active time per month."""
    firsts = np.asarray([calendar.bounds(m)[0] for m in range(calendar.months)])
    stops = np.asarray([calendar.bounds(m)[1] for m in range(calendar.months)])
    start = np.maximum(firsts[None, :], clients.signup_day[:, None])
    stop = np.minimum(stops[None, :], churn_day[:, None])
    stop = np.maximum(stop, start)  # empty, not negative, outside the client's life
    return start * SECONDS_PER_DAY, stop * SECONDS_PER_DAY


# --- Tables -------------------------------------------------------------------------------


def _zero_padded(numbers: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")


def _client_ids(n: int) -> pa.Array:
    return _zero_padded(np.arange(1, n + 1), max(CLIENT_ID_WIDTH, len(str(n))))


def _timestamps(seconds: np.ndarray, known: np.ndarray | None = None) -> pa.Array:
    mask = None if known is None else ~known
    return pa.array(seconds * 1_000_000, TIMESTAMP_TYPE, mask=mask)


def _labels(names: tuple[str, ...], index: np.ndarray) -> pa.Array:
    return pa.array(names, pa.string()).take(pa.array(index))


def _with_client_ids(table: pa.Table, ids: pa.Array) -> pa.Table:
    """Swap the internal client index for the client_id string, keeping column order."""
    position = table.schema.get_field_index("client")
    return table.set_column(position, "client_id", ids.take(table["client"]))


def _clients_table(clients: _Clients, ids: pa.Array) -> pa.Table:
    return pa.table(
        {
            "client_id": ids,
            "signup_date": pa.array(clients.signup_day.astype(np.int32), pa.date32()),
            "monthly_value": pa.array(clients.monthly_value),
            "plan": _labels(PLANS, clients.plan),
            "region": _labels(REGIONS, clients.region),
            "contract": _labels(CONTRACTS, clients.contract),
            "seats": pa.array(clients.seats),
        }
    )


def _churn_table(churn_day: np.ndarray, calendar: _Calendar, ids: pa.Array) -> pa.Table:
    client = np.flatnonzero(churn_day <= calendar.end_day)
    return pa.table(
        {
            "client_id": ids.take(pa.array(client)),
            "churned_at": pa.array(churn_day[client].astype(np.int32), pa.date32()),
        }
    )


def _write(table: pa.Table, path: Path) -> int:
    pq.write_table(table, path, row_group_size=ROW_GROUP_ROWS, **PARQUET_OPTIONS)
    return table.num_rows


def _tickets_table(raw: dict[str, np.ndarray], calendar: _Calendar, ids: pa.Array) -> pa.Table:
    # Nothing after `end` is known yet: a later answer or resolution is written as missing,
    # and so is a rating given for a resolution that has not happened yet.
    known_until = (calendar.end_day + 1) * SECONDS_PER_DAY
    responded = (raw["first_response"] != _MISSING) & (raw["first_response"] < known_until)
    resolved = (raw["resolved"] != _MISSING) & (raw["resolved"] < known_until)
    rated = resolved & (raw["satisfaction"] != _MISSING)
    # Ids are handed out in the order tickets are opened, like a helpdesk sequence.
    order = np.lexsort((raw["client"], raw["opened"]))
    number = np.arange(1, len(order) + 1)
    return pa.table(
        {
            "ticket_id": pc.binary_join_element_wise("T", _zero_padded(number, TICKET_ID_WIDTH), ""),
            "client_id": ids.take(pa.array(raw["client"][order])),
            "opened_at": _timestamps(raw["opened"][order]),
            "first_response_at": _timestamps(raw["first_response"][order], known=responded[order]),
            "resolved_at": _timestamps(raw["resolved"][order], known=resolved[order]),
            "priority": _labels(PRIORITIES, raw["priority"][order]),
            "category": _labels(CATEGORIES, raw["category"][order]),
            "satisfaction": pa.array(raw["satisfaction"][order], pa.int64(), mask=~rated[order]),
        }
    )


def _surveys_table(
    rng: np.random.Generator,
    clients: _Clients,
    health: np.ndarray,
    start_s: np.ndarray,
    stop_s: np.ndarray,
    ids: pa.Array,
) -> pa.Table:
    n, months = health.shape
    # Each client is asked once a quarter; only the months it is active in can hold an answer.
    asked = (np.arange(months)[None, :] + clients.survey_phase[:, None]) % SURVEY_EVERY_MONTHS == 0
    answers = rng.random((n, months)) < _sigmoid(SURVEY_RESPONSE_LOGIT + SURVEY_RESPONSE_HEALTH * health)
    client, month = np.nonzero(asked & answers & (stop_s > start_s))  # client-major, months in order
    k = len(client)
    answered_at = start_s[client, month] + (rng.random(k) * (stop_s - start_s)[client, month]).astype(np.int64)
    mood = SURVEY_SCORE_CENTRE + SURVEY_SCORE_HEALTH * health[client, month] + rng.normal(0.0, SURVEY_SCORE_NOISE, k)
    score = np.clip(np.rint(mood), 0, 10).astype(np.int64)

    # Detractors explain themselves more often; the text matches the score band.
    band = np.select([score <= 6, score <= 8], [0, 1], 2)
    bands = (COMMENTS_DETRACTOR, COMMENTS_PASSIVE, COMMENTS_PROMOTER)
    band_size = np.asarray([len(b) for b in bands])
    band_offset = np.concatenate([[0], np.cumsum(band_size)[:-1]])
    has_comment = rng.random(k) < np.where(band == 0, COMMENT_PROB_DETRACTOR, COMMENT_PROB_OTHER)
    pick = band_offset[band] + (rng.random(k) * band_size[band]).astype(np.int64)
    texts = pa.array([text for b in bands for text in b], pa.string())
    return pa.table(
        {
            "client_id": ids.take(pa.array(client)),
            "answered_at": _timestamps(answered_at),
            "score": pa.array(score),
            "comment": texts.take(pa.array(pick, mask=~has_comment)),
        }
    )


_EVENTS_SCHEMA = pa.schema(
    [
        ("client_id", pa.string()),
        ("timestamp", TIMESTAMP_TYPE),
        ("event_type", pa.string()),
        ("channel", pa.string()),
        ("value", pa.float64()),
    ]
)


def _write_events(
    rng: np.random.Generator,
    clients: _Clients,
    health: np.ndarray,
    start_s: np.ndarray,
    stop_s: np.ndarray,
    ids: pa.Array,
    path: Path,
    activity_scale: float = 1.0,
) -> int:
    """Draw client x month x type Poisson counts, spread them uniformly over the active time."""
    n, months = health.shape
    n_types = len(EVENT_TYPES)
    seconds = stop_s - start_s
    # Busy and quiet months shift every type together, so one month's dip is weak evidence.
    mood = health + rng.normal(0.0, EVENT_MONTH_NOISE, (n, months))
    expected = (
        (seconds / SECONDS_PER_DAY * clients.activity[:, None])[:, :, None]
        * np.asarray(EVENT_DAILY_RATE)
        * np.exp(mood[:, :, None] * np.asarray(EVENT_HEALTH_SLOPE))
    )
    if activity_scale != 1.0:  # left untouched at 1.0, so the default files stay byte for byte
        expected *= activity_scale
    counts = rng.poisson(expected).reshape(-1)
    del expected, mood
    cell = np.repeat(np.arange(counts.size, dtype=np.int64), counts)  # client-major, month, type
    del counts
    client_month = cell // n_types
    event_type = (cell % n_types).astype(np.int8)
    del cell
    client = (client_month // months).astype(np.int64)
    k = len(client)
    timestamp = start_s.reshape(-1)[client_month] + (rng.random(k) * seconds.reshape(-1)[client_month]).astype(
        np.int64
    )
    del client_month

    # A log reads per client in time order; the key packs both (offsets fit 32 bits for 136 years).
    window_start = int(start_s.min()) if k else 0
    order = np.argsort((client << 32) | (timestamp - window_start))
    type_names = pa.array(EVENT_TYPES, pa.string())
    channel_names = pa.array(CHANNELS, pa.string())
    # Written a row group at a time: the per-event details are drawn chunk by chunk, in a fixed
    # order, so memory stays flat and reruns stay identical.
    with pq.ParquetWriter(path, _EVENTS_SCHEMA, **PARQUET_OPTIONS) as writer:
        for lo in range(0, max(k, 1), ROW_GROUP_ROWS):
            rows = order[lo : lo + ROW_GROUP_ROWS]
            chunk_client, chunk_type = client[rows], event_type[rows]
            value = _event_values(rng, chunk_type)
            chunk = pa.table(
                {
                    "client_id": ids.take(pa.array(chunk_client)),
                    "timestamp": _timestamps(timestamp[rows]),
                    "event_type": type_names.take(pa.array(chunk_type)),
                    "channel": channel_names.take(pa.array(_event_channels(rng, clients, chunk_client, chunk_type))),
                    "value": pa.array(value, mask=np.isnan(value)),
                },
                schema=_EVENTS_SCHEMA,
            )
            writer.write_table(chunk, row_group_size=ROW_GROUP_ROWS)
    return k


def _event_values(rng: np.random.Generator, event_type: np.ndarray) -> np.ndarray:
    """Amount of a purchase, seconds spent on a page view, NaN (null) for the other types."""
    value = np.full(len(event_type), np.nan)
    purchase = event_type == EVENT_TYPES.index("purchase")
    value[purchase] = np.round(rng.lognormal(np.log(PURCHASE_MEDIAN), PURCHASE_SIGMA, purchase.sum()), 2)
    view = event_type == EVENT_TYPES.index("page_view")
    value[view] = np.round(rng.lognormal(np.log(PAGE_VIEW_MEDIAN_SECONDS), PAGE_VIEW_SIGMA, view.sum()), 1)
    return value


def _event_channels(
    rng: np.random.Generator, clients: _Clients, client: np.ndarray, event_type: np.ndarray
) -> np.ndarray:
    """Email for the types a newsletter or reminder leads to; otherwise the client's own web/app mix."""
    email_share = np.asarray(EMAIL_SHARE_BY_TYPE)[event_type]
    app_cut = email_share + (1.0 - email_share) * clients.app_share[client]
    u = rng.random(len(client))
    channel = np.where(u < app_cut, CHANNELS.index("app"), CHANNELS.index("web"))
    return np.where(u < email_share, CHANNELS.index("email"), channel).astype(np.int8)
