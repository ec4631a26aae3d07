"""The activity log: per client, month and type a Poisson count whose rate follows health,
spread over the active time and written a row group at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.synth.clients import Clients
from pipeline.synth.interactions import event_rate_factors
from pipeline.synth.parameters import (
    CHANNELS,
    EMAIL_SHARE_BY_TYPE,
    EVENT_DAILY_RATE,
    EVENT_HEALTH_SLOPE,
    EVENT_MONTH_NOISE,
    EVENT_TYPES,
    PAGE_VIEW_MEDIAN_SECONDS,
    PAGE_VIEW_SIGMA,
    PURCHASE_MEDIAN,
    PURCHASE_SIGMA,
    SECONDS_PER_DAY,
)
from pipeline.synth.tables import PARQUET_OPTIONS, ROW_GROUP_ROWS, TIMESTAMP_TYPE, timestamps

_EVENTS_SCHEMA = pa.schema(
    [
        ("client_id", pa.string()),
        ("timestamp", TIMESTAMP_TYPE),
        ("event_type", pa.string()),
        ("channel", pa.string()),
        ("value", pa.float64()),
    ]
)


def write_events(
    rng: np.random.Generator,
    clients: Clients,
    health: np.ndarray,
    start_s: np.ndarray,
    stop_s: np.ndarray,
    ids: pa.Array,
    path: Path,
    activity_scale: float = 1.0,
) -> int:
    """Draw every client's events, then write them a row group at a time, in client and time order."""
    client, event_type, timestamp = _draw_events(rng, clients, health, start_s, stop_s, activity_scale)
    k = len(client)
    # A log reads per client in time order; the key packs both (offsets fit 32 bits for 136 years).
    # Stable: events of one client in one second keep their drawn order (numpy's default sort takes
    # another path on AVX-512 and would order such ties, and so the file's bytes, by the machine).
    window_start = int(start_s.min()) if k else 0
    order = np.argsort((client << 32) | (timestamp - window_start), kind="stable")
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
                    "timestamp": timestamps(timestamp[rows]),
                    "event_type": type_names.take(pa.array(chunk_type)),
                    "channel": channel_names.take(pa.array(_event_channels(rng, clients, chunk_client, chunk_type))),
                    "value": pa.array(value, mask=np.isnan(value)),
                },
                schema=_EVENTS_SCHEMA,
            )
            writer.write_table(chunk, row_group_size=ROW_GROUP_ROWS)
    return k


def _draw_events(
    rng: np.random.Generator,
    clients: Clients,
    health: np.ndarray,
    start_s: np.ndarray,
    stop_s: np.ndarray,
    activity_scale: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Client x month x type Poisson counts, spread uniformly over the active time: (client, type, seconds)."""
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
    if clients.friction is not None:  # the interactions profile: friction moves the error rate
        expected *= event_rate_factors(clients.friction)[:, None, :]
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
    return client, event_type, timestamp


def _event_values(rng: np.random.Generator, event_type: np.ndarray) -> np.ndarray:
    """Amount of a purchase, seconds spent on a page view, NaN (null) for the other types."""
    value = np.full(len(event_type), np.nan)
    purchase = event_type == EVENT_TYPES.index("purchase")
    value[purchase] = np.round(rng.lognormal(np.log(PURCHASE_MEDIAN), PURCHASE_SIGMA, purchase.sum()), 2)
    view = event_type == EVENT_TYPES.index("page_view")
    value[view] = np.round(rng.lognormal(np.log(PAGE_VIEW_MEDIAN_SECONDS), PAGE_VIEW_SIGMA, view.sum()), 1)
    return value


def _event_channels(
    rng: np.random.Generator, clients: Clients, client: np.ndarray, event_type: np.ndarray
) -> np.ndarray:
    """Email for the types a newsletter or reminder leads to; otherwise the client's own web/app mix."""
    email_share = np.asarray(EMAIL_SHARE_BY_TYPE)[event_type]
    app_cut = email_share + (1.0 - email_share) * clients.app_share[client]
    u = rng.random(len(client))
    channel = np.where(u < app_cut, CHANNELS.index("app"), CHANNELS.index("web"))
    return np.where(u < email_share, CHANNELS.index("email"), channel).astype(np.int8)
