"""Exports by hand: a tiny list through the real `summarise`, written as Parquet, CSV, XLSX and HTML."""

import csv
import dataclasses
import html
import types
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from features import declare
from features.spec import FeaturesConfig, FeatureSpec
from models.explain import Reason
from models.playbook import Playbook
from models.risk_list import COLUMNS, ListOptions, summarise
from models.segments import LOYALTY_STAGES, NPS_GROUPS, RISK_BANDS, VALUE_QUADRANTS, SegmentsConfig
from pipeline import exports
from pipeline.exports import report, texts, write_outputs

HYPERLINK = '=HYPERLINK("evil","click")'
REASONS = ["+cmd; Página vista", "-1+2; <script>alert(1)</script>", "@SUM(A1)"]
ACTIONS = ["\tcall now", "Agendar sesión de ayuda", "Email"]
PLAYBOOK = Playbook.model_validate({
    "actions": {"call": {"en": "\tcall now", "es": "\tllamar ya", "capacity": 1},
                "email": {"en": "Email", "es": "Correo"}},
    "rules": [{"action": "call", "when": {"risk_band": ["high"]}}],
    "default_action": "email",
})
_SPEC = FeatureSpec(config=FeaturesConfig(), sources=("events", "surveys"), optional_columns={})
BUNDLE = types.SimpleNamespace(spec=dataclasses.replace(_SPEC, feature_names=tuple(f.name for f in declare(_SPEC))))
SPANISH_HEADERS = ["ID de cliente", "Posición", "Probabilidad de baja", "Nivel de riesgo", "Valor mensual",
                   "Valor en riesgo esperado", "Grupo NPS", "Etapa de fidelización", "Cuadrante de valor",
                   "Motivos principales", "Contexto del cliente", "Acción recomendada", "Posición anterior",
                   "Nuevo en la lista", "En la lista desde", "Días en la lista", "Versión del modelo",
                   "Fecha de corte"]
CONTEXT = ["=client for 2 years; plan: Oro", "client for 20 days", ""]


def frames(lang="en", value=True, listed_rows=3, previous=None):
    """Four scored clients, the first `listed_rows` listed; value at risk 744, 120, 12, 0.12."""
    p = np.array([0.62, 0.2, 0.05, 0.00001])
    monthly = np.array([100.0, 50.0, 20.0, 1000.0]) if value else np.full(4, np.nan)
    scored = pd.DataFrame({
        "client_id": [HYPERLINK, "00123", "-42", "c4"],
        "churn_probability": p,
        "risk_band": ["high", "medium", "low", "low"],
        "monthly_value": monthly,
        "expected_value_at_risk": np.round(p * monthly * 12, 2),
        "nps_group": ["detractor", "passive", "no answer", "promoter"],
        "loyalty_stage": ["new buyer", "frequent client", "advocate", "client"],
        "value_quadrant": ["retain now", "keep and grow", "develop", "maintain at low cost"] if value else [""] * 4,
        "rank": np.arange(1, 5, dtype=np.int64),
    })
    listed = scored.head(listed_rows)
    earlier = None if previous is None else pd.Series(previous["rank"].to_numpy(), index=previous["client_id"])
    previous_rank = pd.array([pd.NA if earlier is None or c not in earlier.index else int(earlier[c])
                              for c in listed["client_id"]], dtype="Int64")
    listed = listed.assign(top_reasons=REASONS[:listed_rows], client_context=CONTEXT[:listed_rows],
                           recommended_action=ACTIONS[:listed_rows], previous_rank=previous_rank,
                           new_on_list=pd.isna(previous_rank).astype(bool),
                           on_list_since=["2025-11-30", "2025-12-31", "2025-12-31"][:listed_rows],
                           days_on_list=np.array([31, 0, 0][:listed_rows], dtype=np.int64),
                           model_version="7", as_of="2025-12-31")[list(COLUMNS)]
    reasons = [[Reason("days_since_last_event", "activity", 0.5, "x")],
               [Reason("nps_last_score", "nps", 0.3, "y"), Reason("days_since_last_event", "activity", 0.2, "z")],
               []][:listed_rows]
    keys = ["call", "email", "email"][:listed_rows]
    summary = summarise(listed, scored, reasons, keys, PLAYBOOK, previous, BUNDLE, SegmentsConfig(),
                        ListOptions(capacity=3, lang=lang), as_of="2025-12-31", model_version="7")
    return listed, scored, summary


def write(tmp_path, lang="en", **kwargs):
    listed, scored, summary = frames(lang, **kwargs)
    return write_outputs(listed, scored, summary, tmp_path / "out", lang)


def read_csv_rows(path, delimiter=","):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


@pytest.fixture(scope="module")
def english(tmp_path_factory):
    return write(tmp_path_factory.mktemp("en"), "en")


@pytest.fixture(scope="module")
def spanish(tmp_path_factory):
    return write(tmp_path_factory.mktemp("es"), "es")


def column(rows, name, lang="en"):
    at = rows[0].index(texts.header(name, lang))
    return [row[at] for row in rows[1:]]


# ------------------------------------------------------------------------------------ injection

def test_formula_triggers_are_neutralised_in_csv(english):
    rows = read_csv_rows(english["csv"])
    assert column(rows, "client_id") == ["'" + HYPERLINK, "00123", "'-42"]
    assert column(rows, "top_reasons") == ["'+cmd; Página vista", "'-1+2; <script>alert(1)</script>", "'@SUM(A1)"]
    assert column(rows, "recommended_action")[0] == "'\tcall now"


def test_numbers_are_not_touched_by_neutralisation_in_csv(english):
    rows = read_csv_rows(english["csv"])
    assert column(rows, "rank") == ["1", "2", "3"]
    assert column(rows, "churn_probability") == ["0.62", "0.2", "0.05"]
    assert column(rows, "expected_value_at_risk") == ["744.00", "120.00", "12.00"]


def test_tiny_probabilities_are_plain_decimals_in_csv(tmp_path):
    listed, scored, summary = frames()
    tiny = listed.assign(churn_probability=[0.62, 0.2, 0.00001])
    paths = write_outputs(tiny, scored, summary, tmp_path / "tiny")
    assert column(read_csv_rows(paths["csv"]), "churn_probability")[2] == "0.00001"


def test_formula_triggers_are_neutralised_in_xlsx_and_stored_as_text(english):
    ws = openpyxl.load_workbook(english["xlsx"])["Risk list"]
    header = [c.value for c in ws[1]]
    client = ws.cell(2, header.index("Client ID") + 1)
    assert (client.value, client.data_type) == ("'" + HYPERLINK, "s")
    reasons = [ws.cell(r, header.index("Top reasons") + 1) for r in (2, 3, 4)]
    assert [c.value for c in reasons] == ["'+cmd; Página vista", "'-1+2; <script>alert(1)</script>", "'@SUM(A1)"]
    assert {c.data_type for c in reasons} == {"s"}
    assert ws.cell(2, header.index("Recommended action") + 1).value == "'\tcall now"
    rank = ws.cell(2, header.index("Rank") + 1)
    assert (rank.value, rank.data_type) == (1, "n")
    assert ws.cell(4, header.index("Client ID") + 1).value == "'-42"


def test_no_cell_of_the_workbook_is_a_formula(english):
    wb = openpyxl.load_workbook(english["xlsx"])
    assert all(cell.data_type != "f" for ws in wb for row in ws.iter_rows() for cell in row)


# ------------------------------------------------------------------------------------ xlsx

@pytest.mark.parametrize("lang, names", [("en", ["Risk list", "Summary", "Definitions"]),
                                         ("es", ["Lista de riesgo", "Resumen", "Definiciones"])])
def test_workbook_has_the_three_sheets_in_each_language(tmp_path, lang, names):
    assert openpyxl.load_workbook(write(tmp_path, lang)["xlsx"]).sheetnames == names


def test_list_sheet_freezes_the_header_and_filters_the_data(english):
    ws = openpyxl.load_workbook(english["xlsx"])["Risk list"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:R4"  # 18 columns, header + 3 clients


def test_list_sheet_formats_probability_as_percent_and_value_as_money(english):
    ws = openpyxl.load_workbook(english["xlsx"])["Risk list"]
    header = [c.value for c in ws[1]]
    formats = {name: ws.cell(2, header.index(texts.header(name, "en")) + 1).number_format
               for name in ("churn_probability", "monthly_value", "expected_value_at_risk")}
    assert formats == {"churn_probability": "0.0%", "monthly_value": "#,##0.00", "expected_value_at_risk": "#,##0.00"}
    assert ws.cell(2, header.index("Churn probability") + 1).value == 0.62


def test_band_cells_are_filled_by_band(english):
    ws = openpyxl.load_workbook(english["xlsx"])["Risk list"]
    at = [c.value for c in ws[1]].index("Risk band") + 1
    cells = [ws.cell(r, at) for r in (2, 3, 4)]
    assert [c.value for c in cells] == ["high", "medium", "low"]
    assert [(c.fill.fill_type, c.fill.fgColor.rgb) for c in cells] == [
        ("solid", "00E88C8C"), ("solid", "00F6C26B"), ("solid", "009FD08C")]


def test_list_sheet_prints_the_call_sheet_on_a4_landscape_one_page_wide(english):
    ws = openpyxl.load_workbook(english["xlsx"])["Risk list"]
    setup = ws.page_setup
    assert (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight) == ("landscape", 9, 1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$1"  # the header row on every printed page
    # rank .. previous rank: the call sheet; the context columns stay on screen
    assert ws.print_area == "'Risk list'!$A$1:$K$4"
    margins = ws.page_margins
    assert (margins.left, margins.right, margins.top, margins.bottom) == (0.4, 0.4, 0.6, 0.6)
    assert ws.oddHeader.center.text == "Call sheet · as of 2025-12-31 · model version 7"
    assert ws.oddFooter.center.text == "Page &P of &N"


def test_list_sheet_wraps_reasons_and_makes_their_row_tall_enough(tmp_path):
    listed, scored, summary = frames()
    # 130 characters in a column at most 110 wide: two lines, broken at a space
    long = "; ".join(["login down 62% vs the previous 30 days"] * 3) + "; 2 tickets open"
    paths = write_outputs(listed.assign(top_reasons=[long, "short", "@SUM(A1)"]), scored, summary, tmp_path)
    ws = openpyxl.load_workbook(paths["xlsx"])["Risk list"]
    header = [c.value for c in ws[1]]
    reasons = header.index("Top reasons") + 1
    assert ws.column_dimensions[get_column_letter(reasons)].width == 100
    assert all(ws.cell(r, reasons).alignment.wrap_text for r in (2, 3, 4))
    # the whole tall row reads from the top, beside its wrapped reasons
    assert {ws.cell(2, at).alignment.vertical for at in range(1, 19) if ws.cell(2, at).value is not None} == {"top"}
    assert ws.row_dimensions[2].height == 30  # two lines of 15 points
    assert ws.row_dimensions[3].height is None  # one line: the default height


def test_list_sheet_columns_fit_their_longest_value_and_header_words(english):
    ws = openpyxl.load_workbook(english["xlsx"])["Risk list"]
    widths = {c.value: ws.column_dimensions[get_column_letter(c.column)].width for c in ws[1]}
    # the longest value plus 2: "'-1+2; <script>alert(1)</script>" (32), "\tcall now" neutralised (11)
    assert widths["Top reasons"] == len("'-1+2; <script>alert(1)</script>") + 2
    assert widths["Client ID"] == min(len("'" + HYPERLINK) + 2, 30)
    # numbers as shown: "62.0%" fits, but the header's longest word "probability" + the filter arrow wins
    assert widths["Churn probability"] == len("probability") + 4
    assert widths["Rank"] == len("Rank") + 4  # ranks 1..3 are narrower than the header word
    # every header wraps whole at its spaces: no word is wider than its column
    for head, width in widths.items():
        assert max(len(word) for word in head.split()) + 3 <= width, head
    assert ws.cell(1, 1).alignment.wrap_text and ws.row_dimensions[1].height == 45  # "Expected / value at / risk"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_summary_sheet_headers_fit_their_columns_whole(tmp_path, lang):
    ws = openpyxl.load_workbook(write(tmp_path, lang)["xlsx"])[texts.t("sheet_summary", lang)]
    headers = [cell for row in ws.iter_rows() for cell in row if cell.fill.fill_type == "solid" and cell.value]
    assert headers  # segment, NPS, reasons, actions tables
    for cell in headers:
        if cell.column > 1:
            assert len(cell.value) + 2 <= ws.column_dimensions[cell.column_letter].width, cell.value
        assert cell.alignment.wrap_text
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage


def test_summary_sheet_states_nps_costs_and_coverage(english):
    rows = list(openpyxl.load_workbook(english["xlsx"])["Summary"].iter_rows(values_only=True))
    values = {row[0]: row[1] for row in rows if row[0] is not None}
    # portfolio: 1 promoter, 1 detractor among 3 answers -> 0; list: 1 detractor among 2 answers -> -50
    assert [row[1] for row in rows if row[0] == texts.t("nps_score", "en")] == [0, -50]
    assert values[texts.t("cost_ratio", "en")] == 5
    # 0.62 + 0.2 + 0.05 + 0.00001, rounded to cents; replacing them costs 0.87001 x 50 x 5 = 217.5025
    assert values[texts.t("expected_churners", "en")] == 0.87
    assert values[texts.t("replacement_cost", "en")] == 217.5
    assert values[texts.t("retention_cost_listed", "en")] == 150
    assert values[texts.t("value_share", "en")] == 0.9999  # 876 / 876.12, to four decimals
    assert values["'\tcall now"] == 1  # the action text, neutralised, with its count
    assert texts.t("no_previous", "en") in values


def test_definitions_sheet_has_one_row_per_column(spanish):
    rows = list(openpyxl.load_workbook(spanish["xlsx"])["Definiciones"].iter_rows(values_only=True))
    assert rows[0] == ("Columna", "Nombre del campo (Parquet)", "Significado")
    assert [row[0] for row in rows[1:19]] == SPANISH_HEADERS
    assert [row[1] for row in rows[1:19]] == [
        "client_id", "rank", "churn_probability", "risk_band", "monthly_value", "expected_value_at_risk",
        "nps_group", "loyalty_stage", "value_quadrant", "top_reasons", "client_context", "recommended_action",
        "previous_rank", "new_on_list", "on_list_since", "days_on_list", "model_version", "as_of"]
    assert rows[2][2] == ("Posición en la lista: 1 es el primer cliente a contactar. La lista está ordenada por "
                          "valor en riesgo esperado (empates por probabilidad de baja).")


def test_definitions_sheet_explains_every_feature_behind_a_reason_from_its_declaration(spanish):
    rows = list(openpyxl.load_workbook(spanish["xlsx"])["Definiciones"].iter_rows(values_only=True))
    start = rows.index(("Qué miden los motivos de esta lista", None, None))
    assert rows[start + 1] == ("Motivo", "Nombre del campo (Parquet)", "Sobre")
    # days_since_last_event is cited twice, nps_last_score once: most cited first
    assert rows[start + 2:] == [
        ("días sin actividad", "days_since_last_event", "Sobre actividad digital. Un valor más alto sube el riesgo."),
        ("última respuesta NPS", "nps_last_score", "Sobre encuesta NPS. Un valor más alto baja el riesgo."),
    ]


def test_workbook_dates_come_from_as_of(english):
    with zipfile.ZipFile(english["xlsx"]) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2025, 12, 31, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2025-12-31T00:00:00Z</dcterms:modified>" in core
    assert "2025-12-31T00:00:00Z</dcterms:created>" in core


# ------------------------------------------------------------------------------------ csv, language

def test_csv_starts_with_a_bom_uses_newlines_and_keeps_accents(english):
    raw = english["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" not in raw
    frame = pd.read_csv(english["csv"], encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert frame[texts.header("top_reasons", "en")][0] == "'+cmd; Página vista"
    assert frame[texts.header("recommended_action", "en")][1] == "Agendar sesión de ayuda"


def test_english_csv_reads_back_with_comma_separator_and_decimal_point(english):
    frame = pd.read_csv(english["csv"], sep=",", decimal=".", encoding="utf-8-sig")
    assert frame[texts.header("churn_probability", "en")].tolist() == [0.62, 0.2, 0.05]
    assert frame[texts.header("monthly_value", "en")].tolist() == [100.0, 50.0, 20.0]
    assert frame[texts.header("expected_value_at_risk", "en")].tolist() == [744.0, 120.0, 12.0]
    assert frame[texts.header("rank", "en")].tolist() == [1, 2, 3]
    # only inside "+cmd; Página vista" and "=client for 2 years; plan: Oro"
    assert english["csv"].read_bytes().split(b"\n")[1].count(b";") == 2


def test_spanish_csv_reads_back_with_semicolon_separator_and_decimal_comma(spanish):
    raw = spanish["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    first = raw.decode("utf-8-sig").split("\n")[1]
    assert first.startswith('"\'=HYPERLINK(""evil"",""click"")";1;0,62;alto;100,00;744,00;detractor;')
    frame = pd.read_csv(spanish["csv"], sep=";", decimal=",", encoding="utf-8-sig")
    assert frame[texts.header("churn_probability", "es")].tolist() == [0.62, 0.2, 0.05]
    assert frame[texts.header("monthly_value", "es")].tolist() == [100.0, 50.0, 20.0]
    assert frame[texts.header("expected_value_at_risk", "es")].tolist() == [744.0, 120.0, 12.0]
    assert frame[texts.header("rank", "es")].tolist() == [1, 2, 3]
    # a text holding the separator is quoted and reads back whole
    assert frame[texts.header("top_reasons", "es")][0] == "'+cmd; Página vista"


def test_spanish_csv_writes_tiny_probabilities_with_a_decimal_comma(tmp_path):
    listed, scored, summary = frames("es")
    tiny = listed.assign(churn_probability=[0.62, 0.2, 0.00001])
    paths = write_outputs(tiny, scored, summary, tmp_path / "tiny", "es")
    assert column(read_csv_rows(paths["csv"], ";"), "churn_probability", "es") == ["0,62", "0,2", "0,00001"]


def test_spanish_headers_and_code_values(spanish):
    rows = read_csv_rows(spanish["csv"], ";")
    assert rows[0] == SPANISH_HEADERS
    assert column(rows, "risk_band", "es") == ["alto", "medio", "bajo"]
    assert column(rows, "nps_group", "es") == ["detractor", "pasivo", "sin respuesta"]
    assert column(rows, "loyalty_stage", "es") == ["comprador nuevo", "cliente frecuente", "defensor"]
    assert column(rows, "value_quadrant", "es") == ["retener ya", "mantener y crecer", "desarrollar"]
    assert column(rows, "new_on_list", "es") == ["sí", "sí", "sí"]
    ws = openpyxl.load_workbook(spanish["xlsx"])["Lista de riesgo"]
    # the workbook's list reads as a call sheet: whom, why, what first, the context after
    assert [c.value for c in ws[1]] == [
        "Posición", "ID de cliente", "Probabilidad de baja", "Nivel de riesgo", "Valor en riesgo esperado",
        "Motivos principales", "Contexto del cliente", "Acción recomendada", "Nuevo en la lista", "Posición anterior",
        "Días en la lista", "Valor mensual", "Grupo NPS", "Etapa de fidelización", "Cuadrante de valor",
        "En la lista desde", "Versión del modelo", "Fecha de corte"]
    assert ws.cell(2, 4).value == "alto"


def test_parquet_keeps_canonical_names_and_codes(spanish):
    frame = pd.read_parquet(spanish["parquet"])
    assert list(frame.columns) == list(COLUMNS)
    assert list(frame["risk_band"]) == ["high", "medium", "low"]
    assert list(frame["client_id"]) == [HYPERLINK, "00123", "-42"]  # data as is: machines read it
    assert list(pd.read_parquet(spanish["parquet"], columns=["client_id", "rank"])["rank"]) == [1, 2, 3]
    assert str(frame["previous_rank"].dtype) == "Int64"


# ------------------------------------------------------------------------------------ determinism, atomicity

def test_same_input_gives_the_same_bytes(tmp_path):
    first = write(tmp_path / "a", "es")
    second = write(tmp_path / "b", "es")
    for kind in ("parquet", "csv", "xlsx", "html"):
        assert first[kind].read_bytes() == second[kind].read_bytes(), kind


def test_only_the_four_files_are_left_in_out(english):
    assert sorted(p.name for p in english["csv"].parent.iterdir()) == [
        "risk_list.csv", "risk_list.parquet", "risk_list.xlsx", "risk_report.html"]


def test_a_failed_export_leaves_the_previous_files_untouched(tmp_path, monkeypatch):
    paths = write(tmp_path)
    before = {kind: path.read_bytes() for kind, path in paths.items()}

    def broken(*args, **kwargs):
        raise RuntimeError("plot failed")

    monkeypatch.setattr(report, "report_html", broken)
    with pytest.raises(RuntimeError, match="plot failed"):
        write(tmp_path, "es")
    assert {kind: path.read_bytes() for kind, path in paths.items()} == before
    assert sorted(p.name for p in paths["csv"].parent.iterdir()) == sorted(exports.FILES.values())


# ------------------------------------------------------------------------------------ html

def test_report_is_self_contained(english):
    page = english["html"].read_text(encoding="utf-8")
    for external in ("http://", "https://", 'src="//', "<link", "@import", "url(", "<script"):
        assert external not in page, external
    # score distribution, bands, value quadrants, loyalty stages, reasons, NPS
    assert page.count('src="data:image/png;base64,') == 6


def test_report_opens_on_a_summary_line_and_the_call_sheet_before_any_chart(english):
    page = english["html"].read_text(encoding="utf-8")
    # 744 + 120 + 12 of 876.12 (0.62 x 100 x 12 + ... + 0.00001 x 1000 x 12)
    lead = "Call these 3 clients first: they hold 876.00 of the 876.12 expected value at risk (100.0%) among the 4"
    assert f'<p class="lead">{lead} clients scored.</p>' in page
    sheet = page.index('<table id="call-sheet">')
    assert page.index(lead) < page.index(texts.t("call_sheet_title", "en")) < sheet
    assert sheet < page.index("<img") and sheet < page.index(texts.t("distribution_title", "en"))
    head = page[sheet:page.index("</thead>", sheet)]
    assert [h for h in ("Rank", "Client ID", "Churn probability", "Expected value at risk", "Top reasons",
                        "Recommended action") if f"<th>{h}</th>" not in head] == []
    assert html.escape(texts.t("call_sheet_all", "en", listed="3")) in page


def test_call_sheet_shows_each_reason_on_its_own_line(english):
    page = english["html"].read_text(encoding="utf-8")
    assert "<td>-1+2<br>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page


def test_report_says_the_score_axis_counts_on_a_log_scale(spanish):
    page = spanish["html"].read_text(encoding="utf-8")
    assert "logarítmico" in texts.t("distribution_caption", "es", clients="4")
    assert html.escape(texts.t("distribution_caption", "es", clients="4")) in page


def test_report_escapes_data_text(english):
    page = english["html"].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page


def test_report_escapes_reason_labels_from_the_summary(tmp_path):
    listed, scored, summary = frames()
    first, *rest = summary.top_reasons
    summary = dataclasses.replace(summary, top_reasons=(dataclasses.replace(first, reason="<script>x</script> $a$"),
                                                        *rest))
    page = write_outputs(listed, scored, summary, tmp_path)["html"].read_text(encoding="utf-8")
    assert "&lt;script&gt;x&lt;/script&gt; $a$" in page and "<script>" not in page


def test_report_titles_follow_the_language(spanish):
    page = spanish["html"].read_text(encoding="utf-8")
    assert '<html lang="es">' in page
    assert "<title>Informe de riesgo de baja 2025-12-31</title>" in page
    assert texts.t("report_title", "es") in page and texts.t("distribution_title", "es") in page
    assert html.escape(texts.t("no_previous", "es")) in page


def test_report_counts_changes_against_the_previous_list(tmp_path):
    previous = pd.DataFrame({"client_id": ["00123", "-42", "gone"], "rank": [1, 5, 2]})
    paths = write(tmp_path, previous=previous)
    page = paths["html"].read_text(encoding="utf-8")
    # 00123 stays at 2 (was 1: down), -42 goes to 3 (was 5: up), "gone" left, the first is new
    for words in ("New on the list", "Left the list", "Moved up", "Moved down"):
        assert f'<td>{words}</td><td class="n">1</td>' in page
    assert texts.t("no_previous", "en") not in page
    assert column(read_csv_rows(paths["csv"]), "previous_rank") == ["", "1", "5"]


# ------------------------------------------------------------------------------------ no value, empty list

def test_without_monthly_value_money_cells_are_blank_and_value_is_unknown(tmp_path):
    paths = write(tmp_path, value=False)
    rows = read_csv_rows(paths["csv"])
    assert column(rows, "monthly_value") == column(rows, "expected_value_at_risk") == ["", "", ""]
    assert column(rows, "value_quadrant") == ["", "", ""]
    ws = openpyxl.load_workbook(paths["xlsx"])["Risk list"]
    assert [ws.cell(r, 5).value for r in (2, 3, 4)] == [None, None, None]
    summary = [row[0] for row in openpyxl.load_workbook(paths["xlsx"])["Summary"].iter_rows(values_only=True)]
    assert texts.t("value_unknown", "en") in summary
    page = paths["html"].read_text(encoding="utf-8")
    assert html.escape(texts.t("value_chart_skipped", "en")) in page
    assert html.escape(texts.t("value_unknown_short", "en")) in page


def test_an_empty_list_writes_every_file(tmp_path):
    paths = write(tmp_path, "es", listed_rows=0)
    assert read_csv_rows(paths["csv"], ";") == [SPANISH_HEADERS]
    frame = pd.read_parquet(paths["parquet"])
    assert list(frame.columns) == list(COLUMNS) and len(frame) == 0
    assert str(frame["rank"].dtype) == "int64"
    ws = openpyxl.load_workbook(paths["xlsx"])["Lista de riesgo"]
    assert ws.max_row == 1 and ws.freeze_panes == "A2"
    page = paths["html"].read_text(encoding="utf-8")
    assert html.escape(texts.t("empty_list", "es")) in page
    assert html.escape(texts.t("lead_empty", "es", scored="4")) in page and 'id="call-sheet"' not in page
    # the score distribution and value by band of the scored clients; the segment charts show zeros
    assert page.count('src="data:image/png;base64,') == 4


def test_a_list_missing_a_column_is_refused(tmp_path):
    listed, scored, summary = frames()
    with pytest.raises(ValueError, match="lacks column.*recommended_action"):
        write_outputs(listed.drop(columns="recommended_action"), scored, summary, tmp_path)


# ------------------------------------------------------------------------------------ texts

def test_unknown_language_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown language 'fr': use one of en, es"):
        texts.t("sheet_list", "fr")
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        write_outputs(*frames(), tmp_path, "fr")
    assert not (tmp_path / "risk_list.csv").exists()


def test_every_column_and_code_has_english_and_spanish_text():
    for lang in texts.LANGS:
        for name in COLUMNS:
            assert texts.header(name, lang) and texts.definition(name, lang, horizon="12", order="x")
        for code in (*RISK_BANDS, *NPS_GROUPS, *LOYALTY_STAGES, *VALUE_QUADRANTS):
            assert texts.label(code, lang)
    assert [texts.label(c, "es") for c in LOYALTY_STAGES] == [
        "comprador nuevo", "cliente", "cliente frecuente", "defensor", "promotor"]


def test_every_text_key_has_both_languages_and_no_formula_trigger():
    for table in (texts.HEADERS, texts.DEFINITIONS, texts.CODES, texts.TEXTS):
        for key, words in table.items():
            assert set(words) == set(texts.LANGS), key
            assert not any(w.startswith(exports.FORMULA_START) for w in words.values()), key


def test_numbers_read_the_way_each_language_writes_them():
    assert texts.number(1234.5, "en", 2) == "1,234.50"
    assert texts.number(1234.5, "es", 2) == "1.234,50"
    assert texts.percent(0.125, "es") == "12,5 %"
    assert texts.number(float("nan"), "en") == ""


def test_neutralise_leaves_safe_text_alone():
    assert [exports.neutralise(x) for x in ("=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", "", "'=1")] == [
        "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "a=1", "", "'=1"]


# ------------------------------------------------------------------------------------ evaluation page

def test_evaluation_page_escapes_text_and_shows_finite_metrics_in_name_order():
    page = exports.evaluation_page("Validation <2024>", {"brier": 0.1, "auc": 0.8123456, "ece": float("nan"),
                                                         "name": "not a number"},
                                   {"a&b.png": b"\x89PNG"}, ["note & <one>"])
    assert "<title>Validation &lt;2024&gt;</title>" in page and "<h1>Validation &lt;2024&gt;</h1>" in page
    assert "<li>note &amp; &lt;one&gt;</li>" in page
    assert "<tr><td>auc</td><td>0.8123</td></tr>\n<tr><td>brier</td><td>0.1000</td></tr>" in page
    assert "ece" not in page and "not a number" not in page
    assert '<h2>a&amp;b.png</h2><img alt="a&amp;b.png" src="data:image/png;base64,iVBORw==">' in page
