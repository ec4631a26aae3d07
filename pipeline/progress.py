"""Progress of long stages: a rich bar in a terminal, plain log lines otherwise (cron, CI)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@contextmanager
def steps(description: str, total: int) -> Iterator[Callable[[str], None]]:
    """Yield `advance(note)`; call it once per finished step."""
    if total <= 1:
        yield lambda note="": None
        return
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=True) as bar:
            task = bar.add_task(description, total=total)
            yield lambda note="": bar.advance(task)
        return
    done = 0

    def advance(note: str = "") -> None:
        nonlocal done
        done += 1
        log.info("%s: %d/%d%s", description, done, total, f" ({note})" if note else "")

    yield advance


@dataclass
class Timer:
    """Wall seconds per named stage; a stage met again (once per partition) adds up."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = round(self.stages.get(name, 0.0) + time.perf_counter() - start, 3)
