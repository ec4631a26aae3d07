"""How people read the data's own names and numbers: a glossary, plurals, days and numbers.

Event types, channels and client columns come from the data (`cart_abandon`, `web`,
`payment_method`); a caller reads them through the glossary (config `glossary:`, English and
Spanish), and a name the glossary lacks is humanised (`cart abandon`), never shown as a code.

Templates (`features.declarations.Words`) are `str.format` templates filled by `say`, whose
format specs do what a caller's sentence needs:

- `{v}` a number in the language's style (1,234.5 in English, 1.234,5 in Spanish);
- `{v:ticket|tickets}` the number with the agreeing form ("1 ticket", "3 tickets");
- `{v:ago}` a number of days as "today", "yesterday" or "3 days ago";
- `{v:duration}` a number of days as "20 days", "5 months" or "3 years";
- `{event}` / `{events}`, `{channel}`, `{attribute}`: the feature's data name through the
  glossary, so `{v:{event}|{events}}` reads "1 login" or "3 logins".

Values are substituted, never parsed: a brace inside a name from the data stays text.
"""

from __future__ import annotations

import re
import string
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from features.declarations import Feature

_SEPARATOR = "|"
_CONTROL = re.compile(r"[\x00-\x1f\x7f|]+")
_JOINERS = re.compile(r"[_\s]+")
LONGEST_NAME = 60  # characters of a humanised data name


class Term(BaseModel):
    """One name in English and Spanish; "login|logins" gives the singular and the plural."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    en: str = Field(min_length=1, max_length=80)
    es: str = Field(min_length=1, max_length=80)

    @field_validator("en", "es")
    @classmethod
    def _forms(cls, text: str) -> str:
        if text.count(_SEPARATOR) > 1 or any(c in text for c in "{}") or not all(p.strip() for p in
                                                                                  text.split(_SEPARATOR)):
            raise ValueError(f"{text!r}: write 'singular' or 'singular|plural' (no braces, one '|' at most)")
        return text.strip()

    def forms(self, lang: str) -> tuple[str, str]:
        """(singular, plural) in `lang`; a word given once serves both."""
        text = self.es if lang == "es" else self.en
        one, _, many = text.partition(_SEPARATOR)
        return one.strip(), (many or one).strip()


def _key(name: str) -> str:
    """A glossary key matches a data name whatever its case, spaces, hyphens or underscores."""
    return _JOINERS.sub("_", re.sub(r"[-.]+", "_", str(name).strip().lower()))


def _terms(words: dict[str, tuple[str, str]]) -> dict[str, Term]:
    return {k: Term(en=en, es=es) for k, (en, es) in words.items()}


DEFAULT_EVENTS = _terms({
    "login": ("login|logins", "inicio de sesión|inicios de sesión"),
    "logout": ("logout|logouts", "cierre de sesión|cierres de sesión"),
    "session": ("session|sessions", "sesión|sesiones"),
    "page_view": ("page view|page views", "página vista|páginas vistas"),
    "feature_use": ("feature use|feature uses", "uso de funciones|usos de funciones"),
    "search": ("search|searches", "búsqueda|búsquedas"),
    "click": ("click|clicks", "clic|clics"),
    "download": ("download|downloads", "descarga|descargas"),
    "purchase": ("purchase|purchases", "compra|compras"),
    "cart_abandon": ("abandoned cart|abandoned carts", "carrito abandonado|carritos abandonados"),
    "error": ("error|errors", "error|errores"),
    "payment_failed": ("failed payment|failed payments", "pago fallido|pagos fallidos"),
    "email_open": ("email opened|emails opened", "email abierto|emails abiertos"),
    "support_contact": ("support contact|support contacts", "contacto con soporte|contactos con soporte"),
})
DEFAULT_CHANNELS = _terms({
    "web": ("the website", "la web"), "app": ("the app", "la app"), "mobile": ("mobile", "el móvil"),
    "email": ("email", "email"), "phone": ("phone", "teléfono"), "chat": ("chat", "chat"),
    "store": ("the store", "la tienda"),
})
DEFAULT_ATTRIBUTES = _terms({
    "contract": ("contract", "contrato"), "plan": ("plan", "plan"), "region": ("region", "región"),
    "segment": ("segment", "segmento"), "seats": ("seats", "puestos"), "industry": ("industry", "sector"),
    "country": ("country", "país"), "city": ("city", "ciudad"), "payment_method": ("payment method", "método de pago"),
})


class Glossary(BaseModel):
    """What the call sheet calls the data's event types, channels and client columns (config
    `glossary:`). Entries given add to the built-in ones or replace them; keys match whatever the
    case, spaces, hyphens or underscores of the data's name."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    events: dict[str, Term] = DEFAULT_EVENTS
    channels: dict[str, Term] = DEFAULT_CHANNELS
    attributes: dict[str, Term] = DEFAULT_ATTRIBUTES

    @field_validator("events", "channels", "attributes")
    @classmethod
    def _over_the_built_in_ones(cls, terms: dict[str, Term], info: ValidationInfo) -> dict[str, Term]:
        built_in = {"events": DEFAULT_EVENTS, "channels": DEFAULT_CHANNELS, "attributes": DEFAULT_ATTRIBUTES}
        return {**built_in[info.field_name], **{_key(k): v for k, v in terms.items()}}

    def event(self, name: str, lang: str) -> tuple[str, str]:
        """(singular, plural) of an event type."""
        term = self.events.get(_key(name))
        if term is not None:
            return term.forms(lang)
        plain = humanised(name)
        return (f"evento {plain}", f"eventos {plain}") if lang == "es" else (f"{plain} event", f"{plain} events")

    def channel(self, name: str, lang: str) -> str:
        term = self.channels.get(_key(name))
        return term.forms(lang)[0] if term is not None else humanised(name)

    def attribute(self, name: str, lang: str) -> str:
        term = self.attributes.get(_key(name))
        return term.forms(lang)[0] if term is not None else humanised(name)


DEFAULT_GLOSSARY = Glossary()


def humanised(name: str) -> str:
    """A data name as words: underscores to spaces, no control characters, no '|', bounded."""
    text = _JOINERS.sub(" ", _CONTROL.sub(" ", str(name))).strip()
    if len(text) > LONGEST_NAME:
        text = text[:LONGEST_NAME - 1].rstrip() + "…"
    return text or "?"


def number(value: float, lang: str) -> str:
    """An integer as 1,234 (English) or 1.234 (Spanish); any other number with one decimal."""
    value = float(value)
    text = f"{int(value):,}" if value.is_integer() else f"{value:,.1f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "es" else text


def days_ago(days: float, lang: str) -> str:
    n = int(days)
    if n <= 0:
        return "hoy" if lang == "es" else "today"
    if n == 1:
        return "ayer" if lang == "es" else "yesterday"
    return f"hace {number(n, lang)} días" if lang == "es" else f"{number(n, lang)} days ago"


def duration(days: float, lang: str) -> str:
    """A length of time in the unit a person would use: days under two months, months under two
    years, then years."""
    n = int(days)
    if n < 60:
        amount, unit = n, ("día", "días") if lang == "es" else ("day", "days")
    elif n < 730:
        amount, unit = n // 30, ("mes", "meses") if lang == "es" else ("month", "months")
    else:
        amount, unit = n // 365, ("año", "años") if lang == "es" else ("year", "years")
    return f"{number(amount, lang)} {unit[0] if amount == 1 else unit[1]}"


class _Sentence(string.Formatter):
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if format_spec == "ago":
                return days_ago(value, self.lang)
            if format_spec == "duration":
                return duration(value, self.lang)
            text = number(value, self.lang)
            if _SEPARATOR in format_spec:
                one, _, many = format_spec.partition(_SEPARATOR)
                return f"{text} {one if float(value) == 1 else many}"
            return text + (f" {format_spec}" if format_spec else "")
        return super().format_field(value, format_spec)


def say(template: str, lang: str, **fields: Any) -> str:
    """`template` filled with `fields` (see the module docstring for the format specs)."""
    return _Sentence(lang).format(template, **fields)


def term_fields(feature: Feature, lang: str, glossary: Glossary = DEFAULT_GLOSSARY) -> dict[str, str]:
    """The glossary words a feature's templates may name."""
    if not feature.term:
        return {}
    if feature.term_kind == "event":
        one, many = glossary.event(feature.term, lang)
        return {"event": one, "events": many}
    if feature.term_kind == "channel":
        return {"channel": glossary.channel(feature.term, lang)}
    return {"attribute": glossary.attribute(feature.term, lang)}


def label(feature: Feature, lang: str, glossary: Glossary = DEFAULT_GLOSSARY) -> str:
    """What a feature measures, in words, without any client's numbers."""
    return say(feature.label(lang), lang, **term_fields(feature, lang, glossary))
