"""The `snapshot` profile: a third-party telecom-style extract taken on one day (`end`).

One row per client with mostly static attributes (contract, tenure through signup_date, monthly
and total charges, phone and internet services and their add-ons, billing, payment method and
household), an **additive** logistic churn signal over them (no interaction: a logistic
regression on the attributes is the right model form), and a churn table with the clients who
leave within the 30 days after the extract date. Like such an extract it holds no event log,
surveys or tickets: nothing about behaviour over time is in it. `truth` holds, per client, the
generator's probability of churning in those 30 days (as_of = the extract date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.synth.clients import portable, sigmoid
from pipeline.synth.tables import client_ids, labels, write_table

HORIZON_DAYS = 30
TENURE_MAX_MONTHS = 72
SHORT_TENURE_SHARE = 0.25  # many clients are new: a quarter joined in the last 6 months
DAYS_PER_MONTH = 30.4
CONTRACTS = ("Month-to-month", "One year", "Two year")
INTERNET = ("DSL", "Fiber optic", "No")
INTERNET_SHARE = (0.34, 0.44, 0.22)
PAYMENTS = ("Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)")
PAYMENT_SHARE = (0.34, 0.23, 0.22, 0.21)
YES_NO = ("No", "Yes")
NO_INTERNET = "No internet service"
ADD_ONS = ("online_security", "online_backup", "device_protection", "tech_support", "streaming_tv",
           "streaming_movies")
ADD_ON_SHARE = (0.37, 0.44, 0.44, 0.37, 0.49, 0.50)  # among clients with internet
# Monthly charges: phone, an extra line, the internet service, each add-on (security, backup,
# protection, support at 5, streaming at 10), plus noise.
PHONE_PRICE, EXTRA_LINE_PRICE = 20.0, 5.0
INTERNET_PRICE = (25.0, 50.0, 0.0)
ADD_ON_PRICE = (5.0, 5.0, 5.0, 5.0, 10.0, 10.0)
PRICE_NOISE = 2.5

# Additive churn logit over the attributes (churn within the 30 days after the extract).
BASE_LOGIT = -1.8
CONTRACT_LOGIT = (1.6, 0.3, -1.0)
INTERNET_LOGIT = (0.0, 0.6, -0.7)
PAYMENT_LOGIT = (0.5, 0.0, -0.2, -0.2)
ADD_ON_LOGIT = (-0.45, -0.2, -0.1, -0.45, 0.1, 0.1)  # having the add-on
TENURE_LOGIT_PER_MONTH = -0.028
CHARGES_LOGIT_PER_UNIT = 0.012  # per unit of monthly charges above 65
PAPERLESS_LOGIT = 0.3
SENIOR_LOGIT = 0.35
PARTNER_LOGIT = -0.15
DEPENDENTS_LOGIT = -0.3


@dataclass(frozen=True)
class Extract:
    tenure_months: np.ndarray
    contract: np.ndarray  # index into CONTRACTS
    internet: np.ndarray  # index into INTERNET
    payment: np.ndarray  # index into PAYMENTS
    add_ons: np.ndarray  # (clients, add-ons) bool
    flags: dict[str, np.ndarray]  # bool attributes: senior, partner, dependents, phone, lines, paperless


def draw_extract(rng: np.random.Generator, n: int) -> Extract:
    short = rng.random(n) < SHORT_TENURE_SHARE
    tenure = np.where(short, rng.integers(0, 7, n), rng.integers(0, TENURE_MAX_MONTHS + 1, n))
    # Long-standing clients have mostly moved to longer contracts.
    loyal = tenure / TENURE_MAX_MONTHS
    u = rng.random(n)
    contract = np.where(u < 0.75 - 0.5 * loyal, 0, np.where(u < 0.95 - 0.45 * loyal, 1, 2))
    internet = rng.choice(len(INTERNET), n, p=INTERNET_SHARE)
    phone = rng.random(n) < 0.9
    internet = np.where(~phone & (internet == INTERNET.index("No")), INTERNET.index("DSL"), internet)
    has_internet = internet != INTERNET.index("No")
    add_ons = (rng.random((n, len(ADD_ONS))) < np.asarray(ADD_ON_SHARE)) & has_internet[:, None]
    partner = rng.random(n) < 0.48
    flags = {
        "senior": rng.random(n) < 0.16,
        "partner": partner,
        "dependents": rng.random(n) < np.where(partner, 0.5, 0.1),
        "phone": phone,
        "lines": phone & (rng.random(n) < 0.42),
        "paperless": rng.random(n) < 0.59,
    }
    payment = rng.choice(len(PAYMENTS), n, p=PAYMENT_SHARE)
    return Extract(tenure, contract, internet, payment, add_ons, flags)


def monthly_charges(rng: np.random.Generator, extract: Extract) -> np.ndarray:
    price = (
        PHONE_PRICE * extract.flags["phone"]
        + EXTRA_LINE_PRICE * extract.flags["lines"]
        + np.asarray(INTERNET_PRICE)[extract.internet]
        + extract.add_ons @ np.asarray(ADD_ON_PRICE)
        + rng.normal(0.0, PRICE_NOISE, len(extract.internet))
    )
    return np.round(np.maximum(price, 18.0), 2)


def churn_logit(extract: Extract, charges: np.ndarray) -> np.ndarray:
    """Additive: each attribute adds its own term, whatever the others are."""
    f = extract.flags
    return (
        BASE_LOGIT
        + np.asarray(CONTRACT_LOGIT)[extract.contract]
        + np.asarray(INTERNET_LOGIT)[extract.internet]
        + np.asarray(PAYMENT_LOGIT)[extract.payment]
        + extract.add_ons @ np.asarray(ADD_ON_LOGIT)
        + TENURE_LOGIT_PER_MONTH * extract.tenure_months
        + CHARGES_LOGIT_PER_UNIT * (charges - 65.0)
        + PAPERLESS_LOGIT * f["paperless"]
        + SENIOR_LOGIT * f["senior"]
        + PARTNER_LOGIT * f["partner"]
        + DEPENDENTS_LOGIT * f["dependents"]
    )


def _service(has: np.ndarray, applies: np.ndarray, otherwise: str) -> pa.Array:
    """Yes/No where the service applies, else `otherwise` (as telecom extracts write it)."""
    return pa.array(np.where(applies, np.where(has, "Yes", "No"), otherwise), pa.string())


def extract_table(
    rng: np.random.Generator, extract: Extract, charges: np.ndarray, end_day: int, ids: pa.Array
) -> pa.Table:
    n = len(charges)
    # Signed up `tenure` whole months before the extract, and at least a day before it.
    days = np.floor(extract.tenure_months * DAYS_PER_MONTH).astype(np.int64) + rng.integers(1, 31, n)
    total = np.round(charges * np.maximum(days / DAYS_PER_MONTH, 1.0) * rng.lognormal(0.0, 0.04, n), 2)
    f, has_internet = extract.flags, extract.internet != INTERNET.index("No")
    columns = {
        "client_id": ids,
        "signup_date": pa.array((end_day - days).astype(np.int32), pa.date32()),
        "monthly_value": pa.array(charges),
        "total_charges": pa.array(total),
        "contract": labels(CONTRACTS, extract.contract),
        "gender": labels(("Female", "Male"), rng.integers(0, 2, n)),
        "senior_citizen": pa.array(f["senior"].astype(np.int64)),
        "partner": labels(YES_NO, f["partner"].astype(np.int64)),
        "dependents": labels(YES_NO, f["dependents"].astype(np.int64)),
        "phone_service": labels(YES_NO, f["phone"].astype(np.int64)),
        "multiple_lines": _service(f["lines"], f["phone"], "No phone service"),
        "internet_service": labels(INTERNET, extract.internet),
    }
    for k, name in enumerate(ADD_ONS):
        columns[name] = _service(extract.add_ons[:, k], has_internet, NO_INTERNET)
    columns["paperless_billing"] = labels(YES_NO, f["paperless"].astype(np.int64))
    columns["payment_method"] = labels(PAYMENTS, extract.payment)
    return pa.table(columns)


def write_snapshot(out: Path, n_clients: int, seed: int, end: date) -> dict[str, int]:
    """Write clients, churn and truth .parquet for an extract taken on `end`; return row counts."""
    rng = np.random.default_rng(seed)
    end_day = int(np.datetime64(end, "D").astype(np.int64))
    extract = draw_extract(rng, n_clients)
    charges = monthly_charges(rng, extract)
    p_true = sigmoid(churn_logit(extract, charges))
    ids = client_ids(n_clients)
    clients = extract_table(rng, extract, charges, end_day, ids)
    leaves = np.flatnonzero(rng.random(n_clients) < p_true)
    churned_at = end_day + rng.integers(1, HORIZON_DAYS + 1, len(leaves))
    churn = pa.table(
        {"client_id": ids.take(pa.array(leaves)), "churned_at": pa.array(churned_at.astype(np.int32), pa.date32())}
    )
    truth = pa.table(
        {
            "client_id": ids,
            "as_of": pa.array(np.full(n_clients, end_day, dtype=np.int32), pa.date32()),
            "p_true": pa.array(portable(p_true)),
        }
    )
    out.mkdir(parents=True, exist_ok=True)
    return {
        "clients": write_table(clients, out / "clients.parquet"),
        "churn": write_table(churn, out / "churn.parquet"),
        "truth": write_table(truth, out / "truth.parquet"),
    }
