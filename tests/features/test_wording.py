"""How the data's names and numbers read: glossary, plurals, days, numbers per language."""

import pytest
from pydantic import ValidationError

from features.wording import Glossary, Term, days_ago, duration, humanised, number, say


def test_numbers_in_each_languages_style():
    assert [number(v, "en") for v in (3, 1234, 1234.56, -0.25)] == ["3", "1,234", "1,234.6", "-0.2"]
    assert [number(v, "es") for v in (3, 1234, 1234.56)] == ["3", "1.234", "1.234,6"]


def test_plurals_agree_with_the_number():
    template = "{v:open ticket|open tickets}"
    assert [say(template, "en", v=v) for v in (0, 1, 2, 1.5)] == [
        "0 open tickets", "1 open ticket", "2 open tickets", "1.5 open tickets"]
    assert say("{v:ticket abierto|tickets abiertos}", "es", v=1) == "1 ticket abierto"


def test_days_read_as_people_say_them():
    assert [days_ago(d, "en") for d in (0, 1, 3, 1200)] == ["today", "yesterday", "3 days ago", "1,200 days ago"]
    assert [days_ago(d, "es") for d in (0, 1, 3)] == ["hoy", "ayer", "hace 3 días"]
    assert [duration(d, "en") for d in (1, 59, 60, 400, 729, 730, 3000)] == [
        "1 day", "59 days", "2 months", "13 months", "24 months", "2 years", "8 years"]
    assert duration(365 * 3, "es") == "3 años"


def test_glossary_entries_match_any_spelling_of_a_name_and_add_to_the_built_in_ones():
    glossary = Glossary(events={"Sign In": Term(en="sign-in|sign-ins", es="acceso|accesos")})
    assert glossary.event("sign_in", "en") == ("sign-in", "sign-ins")
    assert glossary.event("SIGN-IN", "es") == ("acceso", "accesos")
    assert glossary.event("cart_abandon", "en") == ("abandoned cart", "abandoned carts")  # built in, kept
    assert glossary.event("trial_start", "en") == ("trial start event", "trial start events")  # humanised
    assert glossary.event("trial_start", "es") == ("evento trial start", "eventos trial start")
    assert glossary.channel("web", "es") == "la web" and glossary.attribute("payment-method", "en") == "payment method"


def test_a_data_name_reads_as_words_and_can_never_break_a_sentence():
    assert humanised("cart__abandon") == "cart abandon"
    assert humanised("a|b\x00c\nd") == "a b c d"
    assert humanised("{v} click") == "{v} click"  # a brace is text: values are substituted, never parsed
    assert len(humanised("x" * 500)) == 60
    assert say("{v:{event}|{events}}", "en", v=2, event="{v} click", events="{v} clicks") == "2 {v} clicks"


@pytest.mark.parametrize("text", ["a|b|c", "{x}", "a|", " "])
def test_a_glossary_term_must_be_a_word_or_singular_and_plural(text):
    with pytest.raises(ValidationError):
        Term(en=text, es="x")
