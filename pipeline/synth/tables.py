"""The output format: Parquet options, ids, timestamps and labels as written, and the clients and
churn tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.synth.clients import Clients
from pipeline.synth.parameters import CLIENT_ID_WIDTH, CONTRACTS, PLANS, REGIONS
from pipeline.synth.window import Calendar

PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "use_dictionary": True}
ROW_GROUP_ROWS = 1 << 20
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")


def zero_padded(numbers: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")


def client_ids(n: int) -> pa.Array:
    return zero_padded(np.arange(1, n + 1), max(CLIENT_ID_WIDTH, len(str(n))))


def timestamps(seconds: np.ndarray, known: np.ndarray | None = None) -> pa.Array:
    mask = None if known is None else ~known
    return pa.array(seconds * 1_000_000, TIMESTAMP_TYPE, mask=mask)


def labels(names: tuple[str, ...], index: np.ndarray) -> pa.Array:
    return pa.array(names, pa.string()).take(pa.array(index))


def with_client_ids(table: pa.Table, ids: pa.Array) -> pa.Table:
    """Swap the internal client index for the client_id string, keeping column order."""
    position = table.schema.get_field_index("client")
    return table.set_column(position, "client_id", ids.take(table["client"]))


def clients_table(clients: Clients, ids: pa.Array) -> pa.Table:
    return pa.table(
        {
            "client_id": ids,
            "signup_date": pa.array(clients.signup_day.astype(np.int32), pa.date32()),
            "monthly_value": pa.array(clients.monthly_value),
            "plan": labels(PLANS, clients.plan),
            "region": labels(REGIONS, clients.region),
            "contract": labels(CONTRACTS, clients.contract),
            "seats": pa.array(clients.seats),
        }
    )


def churn_table(churn_day: np.ndarray, calendar: Calendar, ids: pa.Array) -> pa.Table:
    client = np.flatnonzero(churn_day <= calendar.end_day)
    return pa.table(
        {
            "client_id": ids.take(pa.array(client)),
            "churned_at": pa.array(churn_day[client].astype(np.int32), pa.date32()),
        }
    )


def write_table(table: pa.Table, path: Path) -> int:
    pq.write_table(table, path, row_group_size=ROW_GROUP_ROWS, **PARQUET_OPTIONS)
    return table.num_rows
