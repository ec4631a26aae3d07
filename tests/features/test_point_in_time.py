"""The guard of point in time: scoring as of T on full data equals scoring on the data cut at T.

The cut is made here on the raw frames, independently of features.cutoffs: every row after T goes,
answers and resolutions after T are blanked, and so is the rating of a ticket not resolved by T.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import features
from features import fit_spec
from features.spec import FeaturesConfig
from pipeline.data.contract import tables_from_frames

BASE = pd.Timestamp("2024-01-01")
DAYS = 75  # short enough that a random T often falls between a ticket and its answer
EVENT_TYPES = ("Página vista", "checkout", "login")
OFFSETS = {"Z": pd.Timedelta(0), "+02:00": pd.Timedelta(hours=2), "-05:00": pd.Timedelta(hours=-5)}
# small windows and limits so that a handful of rows reaches every branch (trend, other, identifiers)
CONFIG = FeaturesConfig(windows_days=(7, 30), max_event_types=2, max_channels=1, max_category_levels=2)


def iso(utc: pd.Timestamp, offset: str) -> str:
    """The same instant written as local time with an offset, as an export from another zone would."""
    local = utc + OFFSETS[offset]
    return local.strftime("%Y-%m-%dT%H:%M:%S") + offset


# an instant within the data range; the extra seconds put some rows at 00:00:00 and some at 23:59:59
instants = st.builds(lambda h, s: BASE + pd.Timedelta(hours=h, seconds=s),
                     st.integers(0, DAYS * 24 - 1), st.sampled_from([0, 1, 3599]))
offsets = st.sampled_from(list(OFFSETS))
maybe_hours = st.one_of(st.none(), st.integers(0, 24 * 6))


@st.composite
def raw_tables(draw):
    """Raw frames (string values, as in a CSV) with the UTC instant of every timed value kept aside."""
    n = draw(st.integers(1, 4))
    ids = [f"c{i}" for i in range(n)]
    client = st.sampled_from(ids)
    clients = pd.DataFrame({
        "client_id": ids,
        # c0 signs up on the first day, so the clients table cut at any T keeps a row (the contract needs one)
        "signup_date": [str((BASE + pd.Timedelta(days=draw(st.integers(0, DAYS)) if i else 0)).date())
                        for i in range(n)],
        "monthly_value": [draw(st.one_of(st.none(), st.integers(0, 99).map(str))) for _ in ids],
        "plan": [draw(st.sampled_from(["basic", "pro", "team", None])) for _ in ids],
    })
    events = [(draw(client), draw(instants), draw(offsets), draw(st.sampled_from(EVENT_TYPES)),
               draw(st.sampled_from(["web", "app", None])), draw(st.one_of(st.none(), st.integers(0, 50))))
              for _ in range(draw(st.integers(0, 10)))]
    surveys = [(draw(client), draw(instants), draw(offsets), draw(st.integers(0, 10)))
               for _ in range(draw(st.integers(0, 5)))]
    tickets = []
    for k in range(draw(st.integers(0, 6))):
        opened = draw(instants)
        answer, resolve = draw(maybe_hours), draw(maybe_hours)
        tickets.append((f"t{k}", draw(client), opened,
                        None if answer is None else opened + pd.Timedelta(hours=answer, minutes=30),
                        None if resolve is None else opened + pd.Timedelta(hours=resolve),
                        draw(st.sampled_from(["low", "medium", "high", "urgent", None])),
                        draw(st.one_of(st.none(), st.integers(1, 5)))))
    churn = [(c, BASE + pd.Timedelta(days=draw(st.integers(0, DAYS)))) for c in ids if draw(st.booleans())]
    return {"clients": clients, "events": events, "surveys": surveys, "tickets": tickets, "churn": churn}


@st.composite
def cases(draw):
    """Raw tables and a cutoff: any day, or a boundary day (a row's own day or the day before it).

    Leaks hide at boundaries: a cutoff the day before an answer or a resolution is what tells a
    ticket "open at T" from "resolved"; a uniform day would rarely land there in 25 examples.
    """
    raw = draw(raw_tables())
    days = sorted({t.normalize() for row in raw["events"] + raw["surveys"] for t in row[1:2]}
                  | {t.normalize() for row in raw["tickets"] for t in row[2:5] if t is not None}
                  | {t for _, t in raw["churn"]})
    any_day = st.integers(0, DAYS).map(lambda d: BASE + pd.Timedelta(days=d))
    if not days:
        return raw, draw(any_day)
    # never before the first signup (BASE): the clients table cut there would be empty
    boundary = st.tuples(st.sampled_from(days), st.sampled_from([0, 1])).map(
        lambda p: max(BASE, p[0] - pd.Timedelta(days=p[1])))
    return raw, draw(st.one_of(boundary, any_day))


def to_frames(raw: dict, cutoff: pd.Timestamp | None = None) -> dict[str, pd.DataFrame]:
    """Contract frames of `raw`, cut at the end of day `cutoff` when one is given."""
    bound = None if cutoff is None else cutoff + pd.Timedelta(days=1)

    def known(t):
        return t is not None and (bound is None or t < bound)

    clients = raw["clients"]
    if bound is not None:
        clients = clients[pd.to_datetime(clients["signup_date"]) < bound]
    events = [(c, iso(t, o), kind, channel, None if v is None else str(v))
              for c, t, o, kind, channel, v in raw["events"] if known(t)]
    surveys = [(c, iso(t, o), str(score)) for c, t, o, score in raw["surveys"] if known(t)]
    tickets = []
    for ticket, c, opened, answered, resolved, priority, rating in raw["tickets"]:
        if not known(opened):
            continue
        answered = answered if known(answered) else None
        resolved = resolved if known(resolved) else None
        rating = rating if resolved is not None or bound is None else None
        tickets.append((ticket, c, iso(opened, "Z"), answered and iso(answered, "Z"), resolved and iso(resolved, "Z"),
                        priority, None if rating is None else str(rating)))
    churn = [(c, str(t.date())) for c, t in raw["churn"] if known(t)]
    return {
        "clients": clients.reset_index(drop=True),
        "events": pd.DataFrame(events, columns=["client_id", "timestamp", "event_type", "channel", "value"],
                               dtype=object),
        "surveys": pd.DataFrame(surveys, columns=["client_id", "answered_at", "score"], dtype=object),
        "tickets": pd.DataFrame(tickets, columns=["ticket_id", "client_id", "opened_at", "first_response_at",
                                                  "resolved_at", "priority", "satisfaction"], dtype=object),
        "churn": pd.DataFrame(churn, columns=["client_id", "churned_at"], dtype=object),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_features_at_cutoff_equal_features_on_data_cut_at_cutoff(case):
    raw, cutoff = case
    full = tables_from_frames(to_frames(raw)).tables
    cut = tables_from_frames(to_frames(raw, cutoff)).tables
    spec = fit_spec(full, CONFIG)
    pd.testing.assert_frame_equal(features.build_features(full, [cutoff], spec),
                                  features.build_features(cut, [cutoff], spec))


def test_hand_made_case_with_rows_after_cutoff_scores_as_the_cut_data():
    # T = 10 Jan: an event at 23:59:59 (kept) and 00:00 on 11 Jan (cut); a survey on 12 Jan (cut);
    # t0 answered on T but resolved and rated on 11 Jan (open and unrated at T); t1 answered on 11 Jan
    t = lambda text: pd.Timestamp(text)  # noqa: E731
    raw = {
        "clients": pd.DataFrame({"client_id": ["c0", "c1"], "signup_date": ["2024-01-01", "2024-01-11"],
                                 "monthly_value": ["10", "20"], "plan": ["basic", "pro"]}),
        "events": [("c0", t("2024-01-10 23:59:59"), "Z", "checkout", "web", 5),
                   ("c0", t("2024-01-11 00:00:00"), "+02:00", "checkout", "app", 7)],
        "surveys": [("c0", t("2024-01-05 10:00"), "Z", 9), ("c0", t("2024-01-12 10:00"), "-05:00", 2)],
        "tickets": [("t0", "c0", t("2024-01-10 08:00"), t("2024-01-10 09:00"), t("2024-01-11 10:00"), "high", 1),
                    ("t1", "c0", t("2024-01-09 08:00"), t("2024-01-11 00:00"), None, "low", None)],
        "churn": [("c0", t("2024-01-20"))],
    }
    cutoff = pd.Timestamp("2024-01-10")
    full = tables_from_frames(to_frames(raw)).tables
    spec = fit_spec(full, FeaturesConfig())
    out = features.build_features(full, [cutoff], spec)
    pd.testing.assert_frame_equal(out, features.build_features(tables_from_frames(to_frames(raw, cutoff)).tables,
                                                               [cutoff], spec))
    row = out.set_index("client_id").loc["c0"]
    assert row[["checkout_count_7d", "nps_last_score", "tickets_open", "tickets_unanswered"]].tolist() == [1, 9, 2, 1]
    assert pd.isna(row["last_ticket_satisfaction"])
