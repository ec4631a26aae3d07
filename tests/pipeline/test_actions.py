"""Over a generated list of 600 clients, read back from the features at the list's day (not from
the list): actions come from facts of the client (no client gets an action whose condition it
does not meet), and every reason is one a caller can say (behaviour, tickets or NPS on its risky
side; never a static attribute, never a raw code).

Uses the session's shared model (tests/conftest.py), read-only; scores into its own folder.
"""

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from features import build_features, declared
from features.declarations import LOWERS, RAISES
from features.surveys import LAST_SCORE
from features.wording import humanised
from models.bundle import ModelBundle
from models.explain import reason_text
from models.playbook import client_facts, holds, load_playbook
from models.risk_list import REASON_SEPARATOR
from pipeline.config import load_config
from pipeline.data.contract import load_folder
from pipeline.jobs.score import DEFAULT_PLAYBOOK, score
from pipeline.tracking.registry import configure, load_model


@dataclass
class Sheet:
    listed: pd.DataFrame
    features: pd.DataFrame  # the listed clients' features at the list's day, in list order
    bundle: ModelBundle
    lang: str


@pytest.fixture(scope="module", params=["en", "es"])
def long_sheet(trained_store, tmp_path_factory, request) -> Sheet:
    """A long call sheet (many clients: every rule's and reason's chance) and its clients' features."""
    config = load_config(None).model_copy(update={"scoring": load_config(None).scoring.model_copy(
        update={"capacity": 600, "profit_cut": False, "lang": request.param})})
    out = tmp_path_factory.mktemp(f"sheet_{request.param}")
    result = score(trained_store.data, out=out, config=config, tracking_uri=trained_store.tracking_uri,
                   model_uri=trained_store.model_uri)
    listed = pd.read_parquet(out / "risk_list.parquet")
    assert len(listed) == result["clients_listed"] == 600
    configure(trained_store.tracking_uri)
    bundle = load_model(trained_store.model_uri).bundle
    tables = load_folder(trained_store.data, quarantine_dir=None, max_rejected_share=1.0, require_churn=False).tables
    features = build_features(tables, [pd.Timestamp(result["as_of"])], bundle.spec)
    features = features.set_index(features["client_id"].astype(str)).loc[listed["client_id"]]
    return Sheet(listed, features, bundle, request.param)


def test_no_listed_client_gets_an_action_whose_condition_it_does_not_meet(long_sheet):
    listed, lang = long_sheet.listed, long_sheet.lang
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    facts = client_facts(long_sheet.features)
    by_words = {getattr(action, lang): key for key, action in playbook.actions.items()}
    rows = pd.concat([listed.reset_index(drop=True), facts.reset_index(drop=True)], axis=1).to_dict(orient="records")
    seen = set()
    for row in rows:
        key = by_words[row["recommended_action"]]
        seen.add(key)
        if key == playbook.default_action:
            continue
        rules = [rule.when for rule in playbook.rules if rule.action == key]
        assert any(holds(when, row) for when in rules), (row["client_id"], key, {f: row[f] for f in facts.columns})
    # the list exercises the fact rules, not only the default
    assert {"escalate_tickets", "reonboarding"} <= seen, seen
    # an escalation only where a ticket is open now or an SLA was breached in the last 30 days
    escalated = [r for r in rows if by_words[r["recommended_action"]] == "escalate_tickets"]
    assert all(r["open_tickets"] >= 1 or r["sla_breaches_30d"] >= 1 for r in escalated)
    assert not np.isnan(facts["open_tickets"]).all()  # the data holds tickets: the facts were read


# the risky side of a unit with a natural "no change" (a trend, a pace, a flag), else the typical client
NEUTRAL = {"change": 0.0, "points": 0.0, "rate": 1.0, "flag": 0.0}


def test_every_reason_is_behaviour_on_its_risky_side_and_never_a_code(long_sheet):
    listed, features, bundle = long_sheet.listed, long_sheet.features, long_sheet.bundle
    lang = long_sheet.lang
    declarations = list(declared(bundle.spec).values())
    typical = bundle.typical
    raw_codes = [name for name in (*bundle.spec.event_types, *bundle.spec.channels) if humanised(name) != name]
    said = 0
    families = set()
    for client, text in zip(listed["client_id"], listed["top_reasons"]):
        row = features.loc[client]
        score_now = row.get(LAST_SCORE.name, np.nan)
        # each sentence of the client, read back to the one feature that says it on this client's numbers
        sentences = {}
        for f in declarations:
            sentence = reason_text(f, float(row[f.name]), score_now, lang)
            if sentence:
                sentences.setdefault(sentence, []).append(f)
        for reason in filter(None, text.split(REASON_SEPARATOR)):
            said += 1
            assert "_" not in reason and not any(code in reason for code in raw_codes), reason
            assert "{" not in reason and "}" not in reason, reason
            assert not re.search(r"\b1 (tickets|events|days|errors)\b", reason), reason
            candidates = sentences.get(reason)
            assert candidates, (client, reason)
            ok = []
            for f in candidates:
                value = float(row[f.name])
                reference = NEUTRAL.get(f.unit, typical.get(f.name))
                risky = (np.isnan(value) and f.direction == RAISES) or (
                    reference is not None and not np.isnan(value)
                    and (value > reference if f.direction == RAISES else f.direction == LOWERS and value < reference))
                ok.append(f.actionable and f.source != "clients" and risky)
                families.add(f.family)
            assert any(ok), (client, reason, [(f.name, float(row[f.name]), typical.get(f.name)) for f in candidates])
    # the list speaks: most clients have a reason, and they come from behaviour, tickets and NPS
    assert said >= len(listed)
    assert families <= {"activity", "errors", "support", "nps"} and len(families) >= 3, families
    # the static facts sit beside the reasons, for every client (tenure at least)
    assert listed["client_context"].str.len().gt(0).all()
