"""Partitioned Parquet datasets on a local path or any fsspec URL: whole reads, row filters, removal.

The engines spill features and partitioned lists here; reasons read back only the listed clients.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa


def filesystem(url: str):
    """(fsspec filesystem, path) of a local path or URL."""
    import fsspec

    return fsspec.core.url_to_fs(str(url))


def read_all(url: str) -> pd.DataFrame:
    import pyarrow.dataset as pads

    fs, path = arrow_filesystem(url)
    return pads.dataset(path, filesystem=fs, format="parquet").to_table().to_pandas()


def read_rows(url: str, ids: np.ndarray) -> pd.DataFrame:
    """The rows of these clients from a partitioned Parquet dataset (a row filter, not a full read)."""
    import pyarrow.dataset as pads

    fs, path = arrow_filesystem(url)
    wanted = pa.array(np.asarray(ids, dtype=object), type=pa.string())
    return pads.dataset(path, filesystem=fs, format="parquet").to_table(
        filter=pads.field("client_id").isin(wanted)).to_pandas()


def arrow_filesystem(url: str):
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    fs, path = filesystem(url)
    return PyFileSystem(FSSpecHandler(fs)), path


def remove(url: str) -> None:
    fs, path = filesystem(url)
    if fs.exists(path):
        fs.rm(path, recursive=True)

