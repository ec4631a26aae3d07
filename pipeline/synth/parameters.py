"""The named constants of the synthetic world: client base, hidden health, churn hazard, events,
surveys and tickets. Every number the generator draws with lives here, with why it has its value."""

from __future__ import annotations

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
