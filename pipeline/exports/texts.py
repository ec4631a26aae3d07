"""Every user-facing text of the exports, in English and Spanish, in one place.

- `header(column, lang)`: a risk-list column as a person reads it (CSV, XLSX, report).
- `label(code, lang)`: a canonical code value (risk band, NPS group, loyalty stage, value
  quadrant, yes/no) in words. Codes are the English strings `models.segments` produces; the
  Parquet file keeps them as they are, every human-facing file shows `label(code, lang)`.
- `definition(column, lang, **values)`: one sentence per column, for the Definitions sheet.
- `t(key, lang, **values)`: sheet names, summary labels, report titles and captions.
- `number(...)` / `percent(...)`: numbers written the way each language reads them.
- `order`, `ratio`, `nps_score`, `cost_sentence`: phrases of a list summary that the workbook
  and the report both show.

Reasons and recommended actions are not here: `models.explain` and the playbook already
write them in the requested language.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from features.surveys import GROUP_WORDS
from pipeline.exports.report_texts import REPORT_TEXTS

if TYPE_CHECKING:
    from models.summary import ListSummary

LANGS = ("en", "es")


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGS)}")
    return lang


# ------------------------------------------------------------------------------- columns

HEADERS: dict[str, dict[str, str]] = {
    "client_id": {"en": "Client ID", "es": "ID de cliente"},
    "rank": {"en": "Rank", "es": "Posición"},
    "churn_probability": {"en": "Churn probability", "es": "Probabilidad de baja"},
    "risk_band": {"en": "Risk band", "es": "Nivel de riesgo"},
    "monthly_value": {"en": "Monthly value", "es": "Valor mensual"},
    "expected_value_at_risk": {"en": "Expected value at risk", "es": "Valor en riesgo esperado"},
    "nps_group": {"en": "NPS group", "es": "Grupo NPS"},
    "loyalty_stage": {"en": "Loyalty stage", "es": "Etapa de fidelización"},
    "value_quadrant": {"en": "Value quadrant", "es": "Cuadrante de valor"},
    "top_reasons": {"en": "Top reasons", "es": "Motivos principales"},
    "client_context": {"en": "Client context", "es": "Contexto del cliente"},
    "recommended_action": {"en": "Recommended action", "es": "Acción recomendada"},
    "previous_rank": {"en": "Previous rank", "es": "Posición anterior"},
    "new_on_list": {"en": "New on list", "es": "Nuevo en la lista"},
    "on_list_since": {"en": "On the list since", "es": "En la lista desde"},
    "days_on_list": {"en": "Days on list", "es": "Días en la lista"},
    "model_version": {"en": "Model version", "es": "Versión del modelo"},
    "as_of": {"en": "As of", "es": "Fecha de corte"},
}

# {horizon}: months of revenue a lost client takes with it; {order}: how the list is sorted
DEFINITIONS: dict[str, dict[str, str]] = {
    "client_id": {
        "en": "The client's identifier, exactly as written in the source data.",
        "es": "Identificador del cliente, tal como figura en los datos de origen.",
    },
    "rank": {
        "en": "Position on the list: 1 is the first client to contact. The list is ordered by {order}.",
        "es": "Posición en la lista: 1 es el primer cliente a contactar. La lista está ordenada por {order}.",
    },
    "churn_probability": {
        "en": "Probability, estimated by the model, that the client leaves (churns) within the prediction "
              "horizon.",
        "es": "Probabilidad, estimada por el modelo, de que el cliente se dé de baja dentro del horizonte de "
              "predicción.",
    },
    "risk_band": {
        "en": "High, medium or low, from the churn probability thresholds set in the configuration.",
        "es": "Alto, medio o bajo, según los umbrales de probabilidad de baja fijados en la configuración.",
    },
    "monthly_value": {
        "en": "What the client brings in each month (current value). Blank when the data has no value.",
        "es": "Lo que el cliente aporta cada mes (valor actual). En blanco si los datos no incluyen el valor.",
    },
    "expected_value_at_risk": {
        "en": "Churn probability x monthly value x {horizon} months: the revenue expected to be lost if "
              "nothing is done. Blank when the value is unknown.",
        "es": "Probabilidad de baja x valor mensual x {horizon} meses: los ingresos que se espera perder si no "
              "se hace nada. En blanco si el valor es desconocido.",
    },
    "nps_group": {
        "en": "From the client's last NPS answer: promoter (9-10), passive (7-8), detractor (0-6), or no "
              "answer.",
        "es": "Según la última respuesta NPS del cliente: promotor (9-10), pasivo (7-8), detractor (0-6) o sin "
              "respuesta.",
    },
    "loyalty_stage": {
        "en": "Step on the loyalty ladder: new buyer (recent sign-up), client, frequent client (active often), "
              "advocate (a frequent client whose last NPS answer was 9-10), promoter (an advocate who "
              "recommends consistently).",
        "es": "Escalón de la escalera de fidelización: comprador nuevo (alta reciente), cliente, cliente "
              "frecuente (activo a menudo), defensor (cliente frecuente cuya última respuesta NPS fue 9-10), "
              "promotor (un defensor que recomienda de forma constante).",
    },
    "value_quadrant": {
        "en": "Current value (monthly value) against future value (monthly value x (1 - churn probability)), "
              "each high or low: retain now, keep and grow, develop, maintain at low cost. Blank when the "
              "value is unknown.",
        "es": "Valor actual (valor mensual) frente a valor futuro (valor mensual x (1 - probabilidad de baja)), "
              "cada uno alto o bajo: retener ya, mantener y crecer, desarrollar, mantener con bajo coste. En "
              "blanco si el valor es desconocido.",
    },
    "top_reasons": {
        "en": "What raises this client's risk most, strongest first, with the client's own numbers.",
        "es": "Lo que más eleva el riesgo de este cliente, de mayor a menor peso, con sus propias cifras.",
    },
    "client_context": {
        "en": "Facts to know before calling, never reasons: how long the client has been with us and the "
              "client attributes the model weighs most (plan, contract, region...).",
        "es": "Datos que conviene saber antes de llamar, nunca motivos: cuánto tiempo lleva el cliente con "
              "nosotros y los atributos del cliente que más pesan en el modelo (plan, contrato, región...).",
    },
    "recommended_action": {
        "en": "What the retention team should do, from the playbook rules and each team's capacity.",
        "es": "Lo que debe hacer el equipo de retención, según las reglas del playbook y la capacidad de cada "
              "equipo.",
    },
    "previous_rank": {
        "en": "Rank on the previous list. Blank when the client was not on it (or there was no previous list).",
        "es": "Posición en la lista anterior. En blanco si el cliente no figuraba en ella (o no había lista "
              "anterior).",
    },
    "new_on_list": {
        "en": "Yes when the client was not on the previous list.",
        "es": "Sí cuando el cliente no figuraba en la lista anterior.",
    },
    "on_list_since": {
        "en": "Date of the first list of the client's current stay on the list (YYYY-MM-DD); a client who "
              "left the list and came back starts again.",
        "es": "Fecha de la primera lista de la estancia actual del cliente en la lista (AAAA-MM-DD); un "
              "cliente que salió de la lista y volvió empieza de nuevo.",
    },
    "days_on_list": {
        "en": "Days since 'On the list since': how long the client has been waiting for a call.",
        "es": "Días desde 'En la lista desde': cuánto tiempo lleva el cliente esperando una llamada.",
    },
    "model_version": {
        "en": "Version of the registered model that produced the scores.",
        "es": "Versión del modelo registrado que calculó las puntuaciones.",
    },
    "as_of": {
        "en": "Date of the data the scores are based on (YYYY-MM-DD).",
        "es": "Fecha de los datos en los que se basan las puntuaciones (AAAA-MM-DD).",
    },
}


def header(column: str, lang: str) -> str:
    check_lang(lang)
    if column not in HEADERS:
        raise KeyError(f"no header for column {column!r}: add it to pipeline/exports/texts.py HEADERS")
    return HEADERS[column][lang]


def definition(column: str, lang: str, **values) -> str:
    check_lang(lang)
    if column not in DEFINITIONS:
        raise KeyError(f"no definition for column {column!r}: add it to pipeline/exports/texts.py DEFINITIONS")
    return DEFINITIONS[column][lang].format(**values)


# ------------------------------------------------------------------------------- code values

# One table for every categorical column: "promoter" means the same in nps_group and
# loyalty_stage, so a code never needs its column to be translated.
CODES: dict[str, dict[str, str]] = {
    # risk_band
    "high": {"en": "high", "es": "alto"},
    "medium": {"en": "medium", "es": "medio"},
    "low": {"en": "low", "es": "bajo"},
    # nps_group (and the top of the loyalty ladder): the NPS rule's own words
    **{group: {"en": words.en, "es": words.es} for group, words in GROUP_WORDS.items()},
    # loyalty_stage
    "new buyer": {"en": "new buyer", "es": "comprador nuevo"},
    "client": {"en": "client", "es": "cliente"},
    "frequent client": {"en": "frequent client", "es": "cliente frecuente"},
    "advocate": {"en": "advocate", "es": "defensor"},
    # value_quadrant ("" = value unknown, shown blank)
    "retain now": {"en": "retain now", "es": "retener ya"},
    "keep and grow": {"en": "keep and grow", "es": "mantener y crecer"},
    "develop": {"en": "develop", "es": "desarrollar"},
    "maintain at low cost": {"en": "maintain at low cost", "es": "mantener con bajo coste"},
    "": {"en": "", "es": ""},
    # new_on_list
    "yes": {"en": "yes", "es": "sí"},
    "no": {"en": "no", "es": "no"},
}

# the columns whose values are codes, translated with `label` in every human-facing file
CODE_COLUMNS = ("risk_band", "nps_group", "loyalty_stage", "value_quadrant")


def label(code: str, lang: str) -> str:
    """A code value in words. An unknown code is an error: the code sets are closed."""
    check_lang(lang)
    if code not in CODES:
        raise ValueError(f"no translation for code value {code!r}: add it to pipeline/exports/texts.py CODES")
    return CODES[code][lang]


# ------------------------------------------------------------------------------- sheets, summary, report

TEXTS: dict[str, dict[str, str]] = {
    # sheet names (Excel allows at most 31 characters, no []:*?/\)
    "sheet_list": {"en": "Risk list", "es": "Lista de riesgo"},
    "sheet_summary": {"en": "Summary", "es": "Resumen"},
    "sheet_definitions": {"en": "Definitions", "es": "Definiciones"},
    # the printed list: page header and footer ("&P" / "&N": this page / every page)
    "print_header": {"en": "Call sheet · as of {as_of} · model version {version}",
                     "es": "Lista de llamadas · fecha de corte {as_of} · versión del modelo {version}"},
    "print_footer": {"en": "Page &P of &N", "es": "Página &P de &N"},
    # Definitions sheet
    "definitions_column": {"en": "Column", "es": "Columna"},
    "definitions_field": {"en": "Field name (Parquet)", "es": "Nombre del campo (Parquet)"},
    "definitions_meaning": {"en": "Meaning", "es": "Significado"},
    "glossary_section": {"en": "What the reasons on this list measure",
                         "es": "Qué miden los motivos de esta lista"},
    "glossary_reason": {"en": "Reason", "es": "Motivo"},
    "glossary_meaning": {"en": "About", "es": "Sobre"},
    "glossary_family": {"en": "About {family}", "es": "Sobre {family}"},
    "glossary_effect": {"en": "A higher value {effect}.", "es": "Un valor más alto {effect}."},
    "order_value": {"en": "expected value at risk (ties by churn probability)",
                    "es": "valor en riesgo esperado (empates por probabilidad de baja)"},
    "order_probability": {"en": "churn probability", "es": "probabilidad de baja"},
    # summary: header block
    "summary_title": {"en": "Churn risk list: summary", "es": "Lista de riesgo de baja: resumen"},
    "as_of": {"en": "As of", "es": "Fecha de corte"},
    "model_version": {"en": "Model version", "es": "Versión del modelo"},
    "clients_scored": {"en": "Clients scored", "es": "Clientes puntuados"},
    "clients_listed": {"en": "Clients on the list", "es": "Clientes en la lista"},
    "ordered_by": {"en": "List ordered by", "es": "Lista ordenada por"},
    "capacity": {"en": "Team capacity (clients per list)", "es": "Capacidad del equipo (clientes por lista)"},
    "no_limit": {"en": "no limit", "es": "sin límite"},
    "sheet_cut": {"en": "Where the call sheet ends", "es": "Dónde termina la lista de llamadas"},
    "cut_capacity": {"en": "at the team's capacity ({n} clients)", "es": "en la capacidad del equipo ({n} clientes)"},
    "cut_profit": {"en": "at the last client worth a contact ({n} clients are)",
                   "es": "en el último cliente que compensa contactar ({n} lo compensan)"},
    "cut_none": {"en": "every scored client is listed", "es": "todos los clientes puntuados están en la lista"},
    "sheet_empty": {"en": "empty: no client is worth a contact at this cost",
                    "es": "vacía: ningún cliente compensa el coste de un contacto"},
    "beyond_cut": {"en": "Clients beyond the cut (in the scored file)",
                   "es": "Clientes tras el corte (en el fichero de puntuaciones)"},
    "value_beyond_cut": {"en": "Expected value at risk beyond the cut", "es": "Valor esperado en riesgo tras el corte"},
    # summary: value
    "value_section": {"en": "Value at risk ({horizon} months of revenue)",
                      "es": "Valor en riesgo ({horizon} meses de ingresos)"},
    "value_total": {"en": "Expected value at risk, all scored clients",
                    "es": "Valor en riesgo esperado, todos los clientes puntuados"},
    "value_listed": {"en": "Expected value at risk, clients on the list",
                     "es": "Valor en riesgo esperado, clientes en la lista"},
    "value_share": {"en": "Share of the total value at risk the list covers",
                    "es": "Parte del valor en riesgo total que cubre la lista"},
    "value_unknown": {"en": "Value unknown: the data has no monthly value, so value at risk is not computed "
                            "and the list is ordered by churn probability.",
                      "es": "Valor desconocido: los datos no incluyen el valor mensual, así que no se calcula "
                            "el valor en riesgo y la lista se ordena por probabilidad de baja."},
    # summary: tables
    "by_band": {"en": "By risk band", "es": "Por nivel de riesgo"},
    "by_quadrant": {"en": "Clients on the list by value quadrant",
                    "es": "Clientes en la lista por cuadrante de valor"},
    "by_loyalty": {"en": "Clients on the list by loyalty stage",
                   "es": "Clientes en la lista por etapa de fidelización"},
    "segment": {"en": "Segment", "es": "Segmento"},
    "clients": {"en": "Clients", "es": "Clientes"},
    "value_at_risk": {"en": "Value at risk", "es": "Valor en riesgo"},
    "clients_listed_short": {"en": "Clients on the list", "es": "Clientes en la lista"},
    "value_listed_short": {"en": "Value at risk on the list", "es": "Valor en riesgo en la lista"},
    "clients_all_short": {"en": "Clients, all scored", "es": "Clientes, todos"},
    "value_all_short": {"en": "Value at risk, all scored", "es": "Valor en riesgo, todos"},
    "share": {"en": "Share", "es": "Proporción"},
    # summary: NPS
    "nps_section": {"en": "NPS, all scored clients", "es": "NPS, todos los clientes puntuados"},
    "nps_listed_section": {"en": "NPS, clients on the list", "es": "NPS, clientes en la lista"},
    "nps_score": {"en": "NPS (-100 to 100)", "es": "NPS (de -100 a 100)"},
    "nps_answered": {"en": "Clients who answered", "es": "Clientes que respondieron"},
    "nps_explained": {"en": "NPS = % promoters - % detractors among the clients who answered.",
                      "es": "NPS = % de promotores - % de detractores entre los clientes que respondieron."},
    "nps_nobody": {"en": "nobody answered", "es": "nadie respondió"},
    "nps_group": {"en": "NPS group", "es": "Grupo NPS"},
    # summary: reasons
    "reasons_section": {"en": "Most frequent reasons on the list", "es": "Motivos más frecuentes en la lista"},
    "reason": {"en": "Reason", "es": "Motivo"},
    "no_reasons": {"en": "No reasons to show.", "es": "No hay motivos que mostrar."},
    # summary: costs
    "cost_section": {"en": "Cost of losing clients vs keeping them",
                     "es": "Coste de perder clientes frente a retenerlos"},
    "cost_ratio": {"en": "Acquisition-to-retention cost ratio", "es": "Relación coste de captación / retención"},
    "cost_per_client": {"en": "Retention cost per client", "es": "Coste de retención por cliente"},
    "expected_churners": {"en": "Expected churners, all scored clients (sum of probabilities)",
                          "es": "Bajas esperadas, todos los clientes puntuados (suma de probabilidades)"},
    "replacement_cost": {"en": "Cost of replacing the expected churners (churners x retention cost x ratio)",
                         "es": "Coste de reemplazar las bajas esperadas (bajas x coste de retención x relación)"},
    "retention_cost_listed": {"en": "Cost of contacting the clients on the list (clients x retention cost)",
                              "es": "Coste de contactar a los clientes de la lista (clientes x coste de "
                                    "retención)"},
    "cost_sentence": {"en": "Winning a new client costs about {ratio} times keeping one: replacing the "
                            "{churners} expected churners would cost about {replacement}, against {retention} "
                            "to contact the {listed} clients on the list.",
                      "es": "Captar un cliente nuevo cuesta unas {ratio} veces más que retenerlo: reemplazar "
                            "las {churners} bajas esperadas costaría unos {replacement}, frente a {retention} "
                            "por contactar a los {listed} clientes de la lista."},
    # summary: actions
    "actions_section": {"en": "Recommended actions", "es": "Acciones recomendadas"},
    "action": {"en": "Action", "es": "Acción"},
    "action_capacity": {"en": "Capacity", "es": "Capacidad"},
    "no_actions": {"en": "No actions assigned.", "es": "No se ha asignado ninguna acción."},
    # summary: changes
    "changes_section": {"en": "Changes since the previous list", "es": "Cambios desde la lista anterior"},
    "new_on_list": {"en": "New on the list", "es": "Nuevos en la lista"},
    "left_list": {"en": "Left the list", "es": "Salieron de la lista"},
    "moved_up": {"en": "Moved up", "es": "Subieron"},
    "moved_down": {"en": "Moved down", "es": "Bajaron"},
    "no_previous": {"en": "No previous list: every client on this list is new.",
                    "es": "No hay lista anterior: todos los clientes de esta lista son nuevos."},
    # the report's words
    **REPORT_TEXTS,
}


def t(key: str, lang: str, **values) -> str:
    """A sheet name, summary label, title or caption; `values` fill its {placeholders}."""
    check_lang(lang)
    if key not in TEXTS:
        raise KeyError(f"no text {key!r}: add it to pipeline/exports/texts.py TEXTS")
    text = TEXTS[key][lang]
    return text.format(**values) if values else text


# ------------------------------------------------------------------------------- words

def plain_words(text: str) -> str:
    """A label as a reader says it: an event code written with underscores ("page_view") reads
    as words ("page view") on charts and in the report's tables."""
    return text.replace("_", " ")


# ------------------------------------------------------------------------------- numbers

def number(value: float | int | None, lang: str, decimals: int = 0) -> str:
    """1,234.50 in English, 1.234,50 in Spanish; "" for a missing value."""
    check_lang(lang)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{value:,.{decimals}f}"
    if lang == "es":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def percent(share: float | None, lang: str, decimals: int = 1) -> str:
    """A share 0..1 as a percentage: 12.5% / 12,5 %."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return ""
    text = number(100 * share, lang, decimals)
    return f"{text} %" if lang == "es" else f"{text}%"


# ------------------------------------------------------------------------------- phrases of a summary

def cut_words(summary, lang: str) -> str:
    """Where and why the call sheet ends, in words."""
    if not summary.clients_listed and summary.limited_by == "profit":
        return t("sheet_empty", lang)
    if summary.limited_by == "capacity":
        return t("cut_capacity", lang, n=number(summary.capacity_clients, lang))
    if summary.limited_by == "profit":
        return t("cut_profit", lang, n=number(summary.profitable_clients, lang))
    return t("cut_none", lang)


def order(sort: str, lang: str) -> str:
    """How the list is ordered, from the summary's `sort`."""
    return t("order_value" if sort == "expected_value_at_risk" else "order_probability", lang)


def ratio(value: float, lang: str) -> str:
    """A cost ratio: 5, or 4.5 when it has a fraction."""
    return number(value, lang, 0 if float(value).is_integer() else 1)


def nps_score(score: float | None, lang: str) -> str:
    return t("nps_nobody", lang) if score is None else number(score, lang, 1)


def cost_sentence(summary: ListSummary, lang: str) -> str:
    """Losing clients against keeping them, in one sentence (the workbook and the report)."""
    return t("cost_sentence", lang, ratio=ratio(summary.acquisition_to_retention_cost_ratio, lang),
             churners=number(summary.expected_churners, lang, 1),
             replacement=number(summary.replacement_cost, lang, 2),
             retention=number(summary.retention_cost_listed, lang, 2),
             listed=number(summary.clients_listed, lang))
