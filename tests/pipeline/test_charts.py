"""Charts drawn with their own margins (`charts._fit`): every label inside the picture, even long
Spanish labels, reasons cut to 60 characters and numbers in the billions; the same data gives the
same bytes."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from models.segments import RISK_BANDS
from models.summary import NpsMix, SegmentCount
from pipeline.exports import charts

LONG = "usos de funciones: últimos 30 días frente al ritmo de 90 días, según el historial de pagos"
BIG = 12_345_678.9


@pytest.fixture
def drawn(monkeypatch):
    """The figures `charts._png` saves, kept to look at after the drawing."""
    figures = []
    save = charts._png

    def keep(fig):
        figures.append(fig)
        return save(fig)

    monkeypatch.setattr(charts, "_png", keep)
    return figures


def _curves() -> dict:
    share = np.linspace(0.001, 1, 200)
    table = pd.DataFrame({"share": share, "gain": np.sqrt(share), "lift": np.sqrt(share) / share})
    return {"model": table, "recency (days_since_last_event) with a long name": table}


CASES = {
    "histogram": lambda lang: charts.histogram(np.r_[np.full(2_000_000, 0.01), np.linspace(0, 1, 500)], lang),
    "value_by_band": lambda lang: charts.value_by_band(
        tuple(SegmentCount(b, 10, BIG / 3) for b in RISK_BANDS), tuple(SegmentCount(b, 99, BIG) for b in RISK_BANDS),
        lang),
    "bars": lambda lang: charts.bars([f"{LONG} {i}" for i in range(10)], [BIG * (i + 1) for i in range(10)],
                                     "valor en riesgo esperado de los clientes de la lista", lang),
    "one bar": lambda lang: charts.bars(["x"], [3], "clients", lang),
    "nps_mix": lambda lang: charts.nps_mix(NpsMix(10.0, 4_000_000, (2_000_000, 1_000_000, 999_999, 1)), lang),
    "reliability": lambda lang: charts.reliability({"model": pd.DataFrame(
        {"mean_probability": [0.1, 0.5, 0.9], "observed_rate": [0.12, 0.4, 0.95]})}),
    "gains": lambda lang: charts.gains(_curves()),
    "profit": lambda lang: charts.profit(pd.DataFrame({"share": np.linspace(0, 1, 50),
                                                       "profit": np.sin(np.linspace(0, 3, 50)) * BIG}), 0.2),
    "importance": lambda lang: charts.importance(pd.DataFrame(
        {"feature": [f"feature_uses_30d_against_the_90d_pace_{i}" for i in range(20)],
         "mean_abs_contribution": np.arange(20.0)})),
}


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("case", CASES)
def test_every_label_is_inside_the_picture_and_the_axes_fill_it(case, lang, drawn):
    png = CASES[case](lang)
    (fig,) = drawn
    width, height = fig.get_size_inches() * fig.dpi
    assert Image.open(io.BytesIO(png)).size == (round(width), round(height))
    renderer = fig.canvas.get_renderer()
    ink = fig.get_tightbbox(renderer)  # inches: every visible artist, tick labels and bar labels included
    margin = charts.PAD * 2
    assert ink.x0 >= 0 and ink.y0 >= 0 and ink.x1 <= fig.get_figwidth() and ink.y1 <= fig.get_figheight(), case
    assert ink.x0 < margin and ink.y0 < margin, case  # no wide empty border either
    assert fig.get_figwidth() - ink.x1 < margin and fig.get_figheight() - ink.y1 < margin, case


def test_bar_labels_stay_inside_the_axes(drawn):
    CASES["histogram"]("es")
    (fig,) = drawn
    (ax,) = fig.axes
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    labels = [t for t in ax.texts if t.get_text()]
    assert labels and "2.000.025" in {t.get_text() for t in labels}
    assert all(t.get_window_extent(renderer).y1 <= box.y1 for t in labels)


@pytest.mark.parametrize("case", ["histogram", "bars", "gains"])
def test_same_data_gives_the_same_bytes(case):
    assert CASES[case]("es") == CASES[case]("es")
