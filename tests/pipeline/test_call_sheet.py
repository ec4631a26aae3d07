"""The call sheet as people open it: the workbook printed through LibreOffice, the report in a
headless Chromium window of 1440x900. Each test skips, saying why, when its program is missing
(`.ci/run` installs Chromium)."""

import dataclasses
import os
import re
import shutil
import subprocess
import types

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from features import declare
from features.spec import FeaturesConfig, FeatureSpec
from models.explain import Reason
from models.playbook import Playbook
from models.risk_list import COLUMNS, ListOptions, summarise
from models.segments import SegmentsConfig
from pipeline.exports.list_sheet import list_sheet
from pipeline.exports.report import report_html

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)

# reasons and actions of the lengths a generated list has (about 50 to 135 characters of reasons)
REASONS = {
    "en": ["errors are 33% of activity in the last 30 days", "abandoned carts are 40% of activity in the last 30 days",
           "2 tickets answered later than the SLA in the last 30 days", "logins down 62% vs the previous 30 days",
           "NPS down 5 points since the previous answer", "last NPS answer 3 (detractor)",
           "3 tickets opened in the last 90 days", "active on 1 of the last 30 days",
           "1 page view in the last 30 days"],
    "es": ["errores: 33% de la actividad en los últimos 30 días",
           "carritos abandonados: 40% de la actividad en los últimos 30 días",
           "2 tickets respondidos fuera de SLA en los últimos 30 días",
           "inicios de sesión: baja un 62% frente a los 30 días anteriores",
           "NPS: baja 5 puntos desde la respuesta anterior", "última respuesta NPS 3 (detractor)",
           "3 tickets abiertos en los últimos 90 días", "activo 1 de los últimos 30 días",
           "1 página vista en los últimos 30 días"],
}
CONTEXT = {
    "en": ["client for 2 years; contract: monthly; plan: pro; region: north", "client for 5 months; contract: annual",
           "client for 20 days; contract: two-year; plan: basic; region: south-east"],
    "es": ["cliente desde hace 2 años; contrato: mensual; plan: pro; región: norte",
           "cliente desde hace 5 meses; contrato: anual",
           "cliente desde hace 20 días; contrato: dos años; plan: básico; región: sudeste"],
}
ACTIONS = {
    "en": {"visit": "Account manager visit: review the account and agree a retention plan",
           "escalate": "Escalate open or late tickets to a senior agent today and call the client",
           "email": "Personal check-in email from the account team"},
    "es": {"visit": "Visita del gestor de cuenta: revisar la cuenta y acordar un plan de retención",
           "escalate": "Escalar hoy los tickets abiertos o fuera de plazo a un agente senior y llamar al cliente",
           "email": "Correo personal de seguimiento del equipo de cuenta"},
}
_SPEC = FeatureSpec(config=FeaturesConfig(), sources=("events", "surveys"), optional_columns={})
BUNDLE = types.SimpleNamespace(spec=dataclasses.replace(_SPEC, feature_names=tuple(f.name for f in declare(_SPEC))))


def call_sheet(lang: str, listed_rows: int = 200, scored_rows: int = 3000):
    """`scored_rows` clients, most scores near 0; the `listed_rows` of most value at risk listed,
    each with three reasons and an action. Returns (listed, scored, summary)."""
    rng = np.random.default_rng(7)
    p = rng.beta(0.6, 20, scored_rows)
    monthly = np.round(rng.lognormal(3.5, 0.8, scored_rows), 2)
    scored = pd.DataFrame({
        "client_id": [f"{i:07d}" for i in range(scored_rows)], "churn_probability": p,
        "risk_band": np.where(p >= 0.3, "high", np.where(p >= 0.1, "medium", "low")),
        "monthly_value": monthly, "expected_value_at_risk": np.round(p * monthly * 12, 2),
        "nps_group": np.array(["detractor", "passive", "promoter", "no answer"])[np.arange(scored_rows) % 4],
        "loyalty_stage": np.array(["new buyer", "client", "frequent client"])[np.arange(scored_rows) % 3],
        "value_quadrant": np.array(["retain now", "keep and grow", "develop", "maintain at low cost"])[
            np.arange(scored_rows) % 4],
    }).sort_values("expected_value_at_risk", ascending=False, kind="stable").reset_index(drop=True)
    scored = scored.assign(rank=np.arange(1, scored_rows + 1, dtype=np.int64))
    listed = scored.head(listed_rows)
    pool = REASONS[lang]
    texts = ["; ".join(pool[(i * k) % len(pool)] for k in (1, 2, 5)) for i in range(listed_rows)]
    keys = [("visit", "escalate", "email")[i % 3] for i in range(listed_rows)]
    listed = listed.assign(top_reasons=texts, client_context=[CONTEXT[lang][i % 3] for i in range(listed_rows)],
                           recommended_action=[ACTIONS[lang][k] for k in keys],
                           previous_rank=pd.array([pd.NA] * listed_rows, dtype="Int64"), new_on_list=True,
                           on_list_since="2025-12-31", days_on_list=np.zeros(listed_rows, dtype=np.int64),
                           model_version="7", as_of="2025-12-31")[list(COLUMNS)]
    playbook = Playbook.model_validate({
        "actions": {k: {"en": ACTIONS["en"][k], "es": ACTIONS["es"][k]} for k in ACTIONS["en"]},
        "rules": [{"action": "visit", "when": {"risk_band": ["high"]}}], "default_action": "email"})
    reasons = [[Reason("days_since_last_event", "activity", 0.5, "x")]] * listed_rows
    summary = summarise(listed, scored, reasons, keys, playbook, None, BUNDLE, SegmentsConfig(),
                        ListOptions(capacity=listed_rows, lang=lang), as_of="2025-12-31", model_version="7")
    return listed, scored, summary


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """(width, height) in points of every page object of an uncompressed-object PDF (LibreOffice's)."""
    pages = re.findall(rb"/Type\s*/Page\b(?!s).{0,400}?/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)",
                       pdf, flags=re.S)
    return [(float(x1) - float(x0), float(y1) - float(y0)) for x0, y0, x1, y1 in pages]


def test_the_sample_call_sheet_has_realistic_text_lengths():
    listed, _, _ = call_sheet("en")
    lengths = listed["top_reasons"].str.len()
    assert len(listed) == 200 and lengths.min() >= 60 and lengths.max() >= 120


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed: the printed pages cannot be "
                                            "counted; install libreoffice-calc to run this test")
@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_call_sheet_of_200_clients_prints_on_at_most_6_a4_landscape_pages(tmp_path, lang):
    listed, _, summary = call_sheet(lang)
    wb = Workbook(write_only=True)
    list_sheet(wb, listed, lang, summary.as_of, summary.model_version)
    wb.save(tmp_path / "call_sheet.xlsx")
    # a profile of its own: a LibreOffice already running for someone else would take the job over
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(tmp_path / "call_sheet.xlsx")],
                   check=True, capture_output=True, timeout=300, env={**os.environ, "HOME": str(tmp_path)})
    pages = pdf_pages((tmp_path / "call_sheet.pdf").read_bytes())
    assert 1 <= len(pages) <= 6, f"{len(pages)} pages"
    # A4 landscape: 842 x 595 points
    assert all(round(w) == 842 and round(h) == 595 for w, h in pages), pages


CHROMIUM_PROBE = """<script>
const table = document.getElementById("call-sheet");
const first = table.tBodies[0].rows[0].getBoundingClientRect();
document.body.dataset.probe = [innerWidth, innerHeight, table.getBoundingClientRect().top, first.bottom].join(",");
</script></body>"""


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: the report's first screen cannot be measured; "
                                             "`.ci/run` installs Debian's chromium")
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_call_sheet_table_starts_inside_the_first_1440x900_screen(tmp_path, lang):
    page = report_html(*call_sheet(lang), lang)
    assert "<script" not in page  # the report itself stays script-free; the probe is added to a copy
    probe = tmp_path / "report.html"
    probe.write_text(page.replace("</body>", CHROMIUM_PROBE, 1), encoding="utf-8")
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1440,900",
                           "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                          capture_output=True, text=True, timeout=120)
    found = re.search(r'data-probe="([\d.,]+)"', done.stdout)
    assert found, f"no measure in Chromium's page (exit {done.returncode}): {done.stderr[-500:]}"
    width, _, top, first_row_bottom = (float(x) for x in found.group(1).split(","))
    # the page is laid out 1440 wide; positions count from the top of the page at scroll 0, so
    # they hold for a 900 px high screen whatever height Chromium leaves its headless viewport
    assert width == 1440
    # the table starts on the first screen, and the first client on it is shown whole
    assert 0 < top < first_row_bottom <= 900, (top, first_row_bottom)
