"""The demo job: synthetic data in the contract, and the whole pipeline on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.config import AppConfig
from pipeline.jobs.score import score
from pipeline.jobs.train import train
from pipeline.synth.generator import generate_folder


def demo(out: Path, *, config: AppConfig, tracking_uri: str, clients: int = 5000, seed: int = 7) -> dict[str, Any]:
    out = Path(out)
    generated = generate_folder(out / "data", clients=clients, seed=seed, end=None)
    trained = train(out / "data", config=config, tracking_uri=tracking_uri, out=out / "train")
    scored = score(out / "data", out=out / "risk", config=config, tracking_uri=tracking_uri)
    return {"generate": generated, "train": trained, "score": scored}
