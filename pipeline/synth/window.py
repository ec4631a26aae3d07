"""The window of months the data covers, as day numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np


@dataclass(frozen=True)
class Calendar:
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


def window_calendar(end: date, months: int) -> Calendar:
    last = np.datetime64(end, "M")
    starts = np.arange(last - (months - 1), last + 2, dtype="datetime64[M]")
    return Calendar(
        month_starts=starts.astype("datetime64[D]").astype(np.int64),
        end_day=int(np.datetime64(end, "D").astype(np.int64)),
    )
