"""Every feature declared once: its name, what it measures, which way it moves churn risk, and
the words people read about it.

A `Feature` is made by the source module that builds it, by the same function that names the
column (see `features.events.count_in_window`, for example), so a feature cannot exist without
its declaration and a window or event type that comes from config or data is declared by the
same rule as the rest. Everything downstream reads declarations, never a feature name:
explanations, segments, the risk list, the baselines, the catalogue, the workbook and MLflow.

Reason templates quote the client's own numbers through placeholders filled when a reason is
written (`features.wording.say`): `{v}` the value, `{abs_v}` its absolute value, `{pct}` /
`{abs_pct}` the value as a percentage, `{dir}` up or down, `{score}` / `{group}` the last NPS
answer and its group; `{v:ticket|tickets}` agrees in number and `{v:ago}` reads "3 days ago".
A name from the data (an event type, a channel, a client column) is the feature's `term`, never
part of a template: templates say `{event}` / `{events}`, `{channel}` or `{attribute}`, and the
glossary (`features.wording.Glossary`, config `glossary:`) gives the words people read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# what a feature is about; the playbook's reason_family conditions use these words
FAMILIES = ("activity", "errors", "support", "nps", "tenure", "value", "profile")
# how a value is measured (the explanation formats numbers by it)
UNITS = ("count", "days", "hours", "share", "rate", "change", "score", "points", "rating", "money", "flag",
         "category", "number")
SOURCES = ("events", "surveys", "tickets", "clients")

RAISES, LOWERS, UNKNOWN = 1, -1, 0  # a higher value raises churn risk / lowers it / not known
Direction = Literal[-1, 0, 1]


@dataclass(frozen=True)
class Words:
    """One text in every language a person may read (English and Spanish)."""

    en: str
    es: str

    def __call__(self, lang: str) -> str:
        return self.es if lang == "es" else self.en


@dataclass(frozen=True)
class Feature:
    """One feature, as the builders make it and as people read it."""

    name: str                    # the column name in every feature frame
    source: str                  # the contract table it reads
    family: str                  # one of FAMILIES
    unit: str                    # one of UNITS
    direction: Direction         # RAISES, LOWERS or UNKNOWN (the domain's knowledge, not the model's)
    actionable: bool             # a fact about behaviour a caller can act on; False for static attributes
    label: Words                 # what it measures, without any client's numbers
    reason: Words | None = None  # a sentence quoting the client's value; None: never a reason
    when_missing: Words | None = None  # the sentence when the value is missing (None: no reason then)
    window_days: int | None = None
    subject: str = ""            # what it is about: a list never gives two reasons on one subject
    levels: tuple[str, ...] | None = None  # category levels, for a categorical feature
    term: str = ""               # the data's name it is about (an event type, a channel, a client column)
    term_kind: Literal["", "event", "channel", "attribute"] = ""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"feature {self.name}: family {self.family!r} is not one of {FAMILIES}")
        if self.unit not in UNITS:
            raise ValueError(f"feature {self.name}: unit {self.unit!r} is not one of {UNITS}")
        if self.source not in SOURCES:
            raise ValueError(f"feature {self.name}: source {self.source!r} is not one of {SOURCES}")
        if self.direction not in (RAISES, LOWERS, UNKNOWN):
            raise ValueError(f"feature {self.name}: direction must be -1, 0 or 1")
        if bool(self.term) != bool(self.term_kind):
            raise ValueError(f"feature {self.name}: a term needs its kind (event, channel or attribute)")
        if not self.subject:
            object.__setattr__(self, "subject", self.name)

    @property
    def categorical(self) -> bool:
        return self.unit == "category"


FAMILY_WORDS = {
    "activity": Words("digital activity", "actividad digital"),
    "errors": Words("errors and failed actions", "errores y acciones fallidas"),
    "support": Words("support tickets", "tickets de soporte"),
    "nps": Words("NPS survey", "encuesta NPS"),
    "tenure": Words("tenure", "antigüedad"),
    "value": Words("value", "valor"),
    "profile": Words("client profile", "perfil del cliente"),
}
HIGHER_VALUE_WORDS = {RAISES: Words("raises the risk", "sube el riesgo"),
                      LOWERS: Words("lowers the risk", "baja el riesgo"), UNKNOWN: Words("", "")}


def direction_word(direction: int) -> str:
    return {RAISES: "raises", LOWERS: "lowers", UNKNOWN: "unknown"}[direction]
