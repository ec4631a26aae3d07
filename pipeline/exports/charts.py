"""Every chart as PNG bytes (matplotlib, Agg renderer): the risk report's and the training plots.

One way to save a figure (`_png`): margins fitted to the labels (`_fit`, one Agg draw instead of
savefig's two under constrained layout), 100 dpi, RGB PNG without metadata, so the same data gives
the same bytes. Words on the report's charts come from
`pipeline.exports.texts`; the training plots are for data scientists and stay in English.

matplotlib is imported when a chart is drawn, not with this module: a command that stops before
drawing (a bad flag, bad input) or never draws (`churn features`) does not pay for it.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.segments import NPS_GROUPS, RISK_BANDS
from models.summary import NpsMix, SegmentCount
from pipeline.exports import texts
from pipeline.exports.texts import t

NPS_COLOUR = {"promoter": "#4e9a4a", "passive": "#9e9e9e", "detractor": "#c0392b", "no answer": "#d6d6d6"}
BAR_COLOUR = "#3b6ea5"
PORTFOLIO_COLOUR = "#b8c4d2"
DPI = 100
PAD = 3 / 72  # inches around the labels, and between them and the edge: constrained layout's w_pad/h_pad
GAP = 0.02    # between two axes of a row, as a share of the figure's width (constrained layout's wspace)
LABEL_REACH = (50, 10)  # pixels: half the width of a wide x tick label ("12.000.000"), half a line's height

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(fig)
    _fit(fig)
    canvas.draw()
    buffer = io.BytesIO()
    # RGB, as the picture is opaque, at zlib level 3: about half the encoding time of savefig's RGBA at
    # level 6, and no bigger. No metadata (no Software, no date): the same data gives the same bytes
    rgb = np.asarray(canvas.buffer_rgba())[..., :3]
    Image.fromarray(rgb).save(buffer, format="png", compress_level=3, dpi=(fig.dpi, fig.dpi))
    return buffer.getvalue()


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    # no layout engine: `_fit` places the axes once, and savefig draws once (a layout engine makes
    # it draw twice: once without rendering, to lay out, then for real)
    return Figure(figsize=(width, height), dpi=DPI)


def _ticks(fig: Figure) -> list[tuple]:
    return [(tuple(ax.xaxis.get_majorticklocs()), tuple(ax.yaxis.get_majorticklocs())) for ax in fig.axes]


def _fit(fig: Figure) -> None:
    """Every label inside the picture, as constrained layout would (one row of axes): each axes' tight
    box (its tick labels, axis labels, title; not the bars, bar labels or legend inside it) measured,
    the margins set from how far it reaches past the axes, plus a pad. Measured again only when that
    moved the ticks (they depend on an axis' length) or shrank an axes by more than a few percent: a
    label near the end of a shorter axis reaches further past it. On a longer one it reaches less far:
    the pad grows a little."""
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    pad, axes = PAD * fig.dpi, fig.axes
    gap = GAP * width if len(axes) > 1 else 0.0
    for _ in range(3):
        ticks, boxes = _ticks(fig), [ax.get_window_extent(renderer).frozen() for ax in axes]
        over = []
        for ax, box in zip(axes, boxes):
            tight = ax.get_tightbbox(renderer, bbox_extra_artists=[])
            over.append((max(box.x0 - tight.x0, 0), max(tight.x1 - box.x1, 0),
                         max(box.y0 - tight.y0, 0), max(tight.y1 - box.y1, 0)))
        bottom = max(o[2] for o in over) + pad
        top = max(o[3] for o in over) + pad
        each = max((width - 2 * pad - sum(o[0] + o[1] for o in over) - (len(axes) - 1) * gap) / len(axes), 1.0)
        tall = max(height - bottom - top, 1.0)
        x = pad
        for ax, (left, right, _, _) in zip(axes, over):
            x += left
            ax.set_position([x / width, bottom / height, each / width, tall / height])
            x += each + right + gap
        # a label half as wide as LABEL_REACH at the end of an axis shorter by a share s reaches s * that
        # further past it: measure again when that may eat more than half the pad
        further = max(max(box.width / each - 1, 0) * LABEL_REACH[0] for box in boxes)
        further = max(further, *(max(box.height / tall - 1, 0) * LABEL_REACH[1] for box in boxes))
        if further <= pad / 2 and _ticks(fig) == ticks:
            return


# --------------------------------------------------------------------------------------- the risk report

def _report_axes(width: float, height: float) -> tuple[Figure, Axes]:
    fig = _figure(width, height)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _plot_text(text: str, limit: int = 60) -> str:
    """Data text on a chart: plain words (`texts.plain_words`; no mathtext from a "$"), cut to fit."""
    text = texts.plain_words(text)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def histogram(probability: np.ndarray, lang: str) -> bytes:
    """How many clients at each churn probability, in steps of 5%, on a logarithmic count axis:
    most scores crowd near 0, and a linear axis flattens the few high ones into nothing. Each
    bar carries its count, which a log axis makes hard to read off."""
    from matplotlib.ticker import NullLocator

    fig, ax = _report_axes(8, 3.2)
    counts, edges, bars = ax.hist(probability, bins=np.linspace(0, 1, 21), color=BAR_COLOUR, edgecolor="white",
                                  log=True)
    ax.bar_label(bars, labels=[texts.number(c, lang) if c else "" for c in counts], fontsize=7, padding=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0.7, max(counts.max(), 1) * 3)  # a bar of 1 client still shows; room for the top label
    ax.set_xlabel(t("distribution_x", lang))
    ax.set_ylabel(t("distribution_y", lang))
    ax.yaxis.set_major_formatter(lambda v, _: texts.number(v, lang))
    ax.yaxis.set_minor_locator(NullLocator())  # no unlabelled minor ticks: fewer artists to draw
    ax.xaxis.set_major_formatter(lambda x, _: texts.percent(x, lang, 0))
    return _png(fig)


def value_by_band(listed: tuple[SegmentCount, ...], portfolio: tuple[SegmentCount, ...], lang: str) -> bytes:
    """Value at risk per risk band: every scored client beside the clients on the list."""
    on_list = {r.level: r.value_at_risk for r in listed}
    whole = {r.level: r.value_at_risk for r in portfolio}
    fig, ax = _report_axes(8, 3.2)
    x = np.arange(len(RISK_BANDS))
    ax.bar(x - 0.2, [whole.get(b, 0) for b in RISK_BANDS], 0.4, color=PORTFOLIO_COLOUR, label=t("series_all", lang))
    ax.bar(x + 0.2, [on_list.get(b, 0) for b in RISK_BANDS], 0.4, color=BAR_COLOUR,
           label=t("series_listed", lang))
    ax.set_xticks(x, [texts.label(b, lang) for b in RISK_BANDS])
    ax.set_xlabel(t("risk_band_axis", lang))
    ax.set_ylabel(t("value_at_risk", lang))
    ax.yaxis.set_major_formatter(lambda v, _: texts.number(v, lang))
    ax.legend(frameon=False)
    return _png(fig)


def bars(labels: list[str], values: list[float], xlabel: str, lang: str) -> bytes:
    """One horizontal bar per label, the first on top."""
    return _horizontal_bars(labels, values, BAR_COLOUR, xlabel, lang)


def nps_mix(nps: NpsMix, lang: str) -> bytes:
    """Clients per NPS group, each group in its colour."""
    return _horizontal_bars([texts.label(g, lang) for g in NPS_GROUPS], [nps.count(g) for g in NPS_GROUPS],
                            [NPS_COLOUR[g] for g in NPS_GROUPS], t("clients", lang), lang)


def _horizontal_bars(labels: list[str], values: list[float], colours, xlabel: str, lang: str) -> bytes:
    from matplotlib.ticker import MaxNLocator

    fig, ax = _report_axes(8, 0.8 + 0.38 * max(len(labels), 1))
    y = np.arange(len(labels))[::-1]  # first item on top
    ax.barh(y, values, color=colours)
    ax.set_yticks(y, [_plot_text(label) for label in labels])
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(lambda v, _: texts.number(v, lang))
    return _png(fig)


# --------------------------------------------------------------------------------------- training and evaluation

def reliability(tables: dict[str, pd.DataFrame]) -> bytes:
    """Observed churn rate against mean predicted probability per bin, one line per variant."""
    fig = _figure(5, 5)
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
    """Cumulative gains and lift against the share of clients contacted, one line per variant."""
    fig = _figure(10, 4)
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
    """Expected profit against the share contacted, with the best cut and the team's capacity."""
    fig = _figure(6, 4)
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
    """The `top` features by mean absolute contribution, the strongest on top."""
    head = frame.head(top).iloc[::-1]
    fig = _figure(7, 0.3 * len(head) + 1)
    ax = fig.subplots()
    ax.barh(head["feature"], head["mean_abs_contribution"])
    ax.set(xlabel="mean |contribution| (log-odds)", title="Global importance")
    return _png(fig)
