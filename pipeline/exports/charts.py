"""Evaluation plots as PNG bytes and one self-contained HTML page (matplotlib, Agg renderer)."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def reliability(tables: dict[str, pd.DataFrame]) -> bytes:
    """Observed churn rate against mean predicted probability per bin, one line per variant."""
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    top = 0.0
    for name, table in tables.items():
        ax.plot(table["mean_probability"], table["observed_rate"], marker="o", label=name)
        top = max(top, table["mean_probability"].max(), table["observed_rate"].max())
    top = min(1.0, top * 1.1 + 0.01)
    ax.plot([0, top], [0, top], linestyle="--", color="grey", label="perfect")
    ax.set(xlim=(0, top), ylim=(0, top), xlabel="mean predicted probability", ylabel="observed churn rate",
           title="Reliability")
    ax.legend()
    return _png(fig)


def gains(curves: dict[str, pd.DataFrame]) -> bytes:
    fig = Figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    for name, table in curves.items():
        left.plot(table["share"], table["gain"], label=name)
        head = table[table["share"] >= 0.01]
        right.plot(head["share"], head["lift"], label=name)
    left.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random")
    left.set(xlabel="share contacted", ylabel="share of churners caught", title="Cumulative gains")
    right.axhline(1, linestyle="--", color="grey")
    right.set(xlabel="share contacted", ylabel="lift", title="Lift", xscale="log")
    left.legend()
    return _png(fig)


def profit(curve: pd.DataFrame, capacity_share: float | None = None) -> bytes:
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(curve["share"], curve["profit"], label="profit")
    best = int(curve["profit"].to_numpy().argmax())
    ax.axvline(curve["share"].iloc[best], linestyle="--", color="green",
               label=f"best cut {curve['share'].iloc[best]:.1%}")
    if capacity_share:
        ax.axvline(capacity_share, linestyle=":", color="red", label=f"team capacity {capacity_share:.1%}")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set(xlabel="share contacted (highest risk first)", ylabel="expected profit", title="Expected profit")
    ax.legend()
    return _png(fig)


def importance(frame: pd.DataFrame, top: int = 20) -> bytes:
    head = frame.head(top).iloc[::-1]
    fig = Figure(figsize=(7, 0.3 * len(head) + 1))
    ax = fig.subplots()
    ax.barh(head["feature"], head["mean_abs_contribution"])
    ax.set(xlabel="mean |contribution| (log-odds)", title="Global importance")
    return _png(fig)


def html_page(title: str, metrics: dict[str, float], images: dict[str, bytes], notes: list[str]) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.4f}</td></tr>" for k, v in sorted(metrics.items())
                   if isinstance(v, (int, float)) and np.isfinite(v))
    pictures = "".join(f"<h2>{html.escape(name)}</h2><img alt='{html.escape(name)}' "
                       f"src='data:image/png;base64,{base64.b64encode(png).decode()}'/>" for name, png in images.items())
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}td{padding:2px 12px}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><ul>{items}</ul><table>{rows}</table>{pictures}</body></html>")
