"""HTML pages from the Jinja2 templates in `pipeline/exports/templates` (every value autoescaped).

`render` serves the risk report (`pipeline.exports.report`); `evaluation_page` is the page of a
model's training or evaluation figures and plots.
"""

from __future__ import annotations

import base64
import functools

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined


def _data_uri(png: bytes) -> str:
    """A PNG inline in the page, so the page is one self-contained file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@functools.cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("pipeline.exports", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["data_uri"] = _data_uri
    return env


def render(template: str, **context) -> str:
    """`template` (a file name in templates/) filled with `context`."""
    return _environment().get_template(template).render(**context)


def evaluation_page(title: str, metrics: dict[str, float], images: dict[str, bytes], notes: list[str]) -> str:
    """Notes, the finite metrics (sorted by name) and the plots of one training or evaluation run."""
    finite = {name: value for name, value in sorted(metrics.items())
              if isinstance(value, (int, float)) and np.isfinite(value)}
    return render("evaluation.html.j2", title=title, metrics=finite, images=images, notes=notes)
