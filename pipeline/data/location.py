"""What a data location is: a local folder, or an fsspec URL (s3://, file://, ...) for the Dask engine."""

from __future__ import annotations

from pathlib import Path


def is_url(data: Path | str) -> bool:
    """A data location given as an fsspec URL (s3://, file://, ...) rather than a local folder."""
    return "://" in str(data)


def data_location(data: Path | str) -> str:
    """A data folder as manifests and runs record it: absolute when local, the URL as given otherwise."""
    return str(data) if is_url(data) else str(Path(data).resolve())
