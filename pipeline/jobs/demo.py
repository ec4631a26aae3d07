"""The generate and demo jobs: synthetic data in the contract, and the whole pipeline on it."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.config import AppConfig
from pipeline.jobs.score import score
from pipeline.jobs.train import train
from pipeline.synth.generator import DEFAULT_END
from pipeline.synth.generator import generate as run_generator


def generate(out: Path, *, clients: int, seed: int, end: date | None, profile: str = "default") -> dict[str, Any]:
    started = time.perf_counter()
    counts = run_generator(Path(out), n_clients=clients, seed=seed, end=end or DEFAULT_END, profile=profile)
    return {"out": str(out), "profile": profile, "rows": counts, "seconds": round(time.perf_counter() - started, 2)}


def demo(out: Path, *, config: AppConfig, tracking_uri: str, clients: int = 5000, seed: int = 7) -> dict[str, Any]:
    out = Path(out)
    generated = generate(out / "data", clients=clients, seed=seed, end=None)
    trained = train(out / "data", config=config, tracking_uri=tracking_uri, out=out / "train")
    scored = score(out / "data", out=out / "risk", config=config, tracking_uri=tracking_uri)
    return {"generate": generated, "train": trained, "score": scored}

