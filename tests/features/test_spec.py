"""The feature settings and the spec learnt at training."""

import pydantic
import pytest
from features_testkit import frame, make_tables, spec_for

from features.spec import FeaturesConfig, SlaHours, _unique_slugs, slug


@pytest.mark.parametrize(("text", "expected"), [
    ("Página vista", "pagina_vista"),
    ("checkout", "checkout"),
    ("  Add-to-Cart!! ", "add_to_cart"),
    ("Überweisung/SEPA", "uberweisung_sepa"),
    ("???", "blank"),
])
def test_slug_is_ascii_lower_case_with_underscores(text, expected):
    assert slug(text) == expected


def test_unique_slugs_number_the_collisions():
    assert _unique_slugs(["Log in", "log-in", "LOG_IN"]) == ["log_in", "log_in_2", "log_in_3"]


def test_unique_slugs_avoid_taken_names():
    assert _unique_slugs(["events"], {"events"}) == ["events_2"]


@pytest.mark.parametrize(("priority", "hours"), [("urgent", 1), ("High", 4), (" medium ", 8), ("low", 24),
                                                 ("critical", 24), (None, 24)])
def test_first_response_sla_per_priority_with_default_for_others(priority, hours):
    assert SlaHours().for_priority(priority) == hours


def test_config_rejects_an_unknown_key_by_name():
    with pytest.raises(pydantic.ValidationError, match="window_days"):
        FeaturesConfig(window_days=(7,))


def test_config_is_frozen():
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        FeaturesConfig().max_channels = 3


def test_spec_records_the_sources_and_optional_columns_present():
    tables = make_tables(events=frame("events", [("a", "2024-03-01T00:00:00Z", "x", "web")], "channel"),
                         tickets=frame("tickets", [("t1", "a", "2024-03-01T00:00:00Z", "high")], "priority"))
    spec = spec_for(tables)
    assert spec.sources == ("events", "tickets")
    assert spec.has("events") and not spec.has("surveys")
    assert spec.has_column("events", "channel") and not spec.has_column("events", "value")
    assert spec.optional_columns["tickets"] == ("priority",)


def test_event_types_ties_are_broken_by_name_so_the_spec_is_reproducible():
    rows = [("a", "2024-03-01T00:00:00Z", t) for t in ("zeta", "alpha", "mid")]
    assert spec_for(make_tables(events=frame("events", rows))).event_types == ("alpha", "mid", "zeta")


def test_valued_event_types_are_those_with_a_filled_value():
    rows = [("a", "2024-03-01T00:00:00Z", "checkout", "9.5"), ("a", "2024-03-01T00:00:00Z", "login", None)]
    spec = spec_for(make_tables(events=frame("events", rows, "value")))
    assert spec.valued_event_types == ("checkout",)


def test_event_levels_of_parts_add_up_to_the_spec_of_the_whole():
    """An engine holding the log in parts sums its counts: the spec is the one of the whole log."""
    from features import fit_spec
    from features.spec import event_levels

    rows = [("a", "2024-03-01T00:00:00Z", "login", "web", None), ("a", "2024-03-02T00:00:00Z", "view", "app", None),
            ("b", "2024-03-01T00:00:00Z", "view", "app", None), ("c", "2024-03-01T00:00:00Z", "buy", "web", "9.5"),
            ("c", "2024-03-03T00:00:00Z", "login", "web", None), ("c", "2024-03-04T00:00:00Z", "login", None, None)]
    whole = make_tables(events=frame("events", rows, "channel", "value"))
    first = make_tables(events=frame("events", rows[:3], "channel", "value"))
    second = make_tables(events=frame("events", rows[3:], "channel", "value"))
    levels = event_levels(first.events) + event_levels(second.events)
    assert dict(levels.event_types) == {"login": 3, "view": 2, "buy": 1}
    assert dict(levels.channels) == {"web": 3, "app": 2} and levels.valued_event_types == {"buy"}
    config = FeaturesConfig(max_event_types=2)
    from_parts = fit_spec(whole, config, levels=levels)
    assert from_parts == fit_spec(whole, config)
    assert from_parts.event_types == ("login", "view") and from_parts.valued_event_types == ()
