"""Actions come from facts of the client: over a generated list, no client gets an action whose
condition it does not meet (read back from the features at the list's day, not from the list).

Uses the session's shared model (tests/conftest.py), read-only; scores into its own folder.
"""

import numpy as np
import pandas as pd

from features import build_features
from models.playbook import client_facts, holds, load_playbook
from pipeline.config import load_config
from pipeline.data.contract import load_folder
from pipeline.jobs.score import DEFAULT_PLAYBOOK, score
from pipeline.tracking.registry import configure, load_model


def test_no_listed_client_gets_an_action_whose_condition_it_does_not_meet(trained_store, tmp_path):
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    config = load_config(None).model_copy(update={"scoring": load_config(None).scoring.model_copy(
        update={"capacity": 600, "profit_cut": False})})  # a long sheet: many clients, every rule's chance
    result = score(trained_store.data, out=tmp_path / "risk", config=config, tracking_uri=trained_store.tracking_uri,
                   model_uri=trained_store.model_uri)
    listed = pd.read_parquet(tmp_path / "risk" / "risk_list.parquet")
    assert len(listed) == result["clients_listed"] == 600
    configure(trained_store.tracking_uri)
    spec = load_model(trained_store.model_uri).bundle.spec
    tables = load_folder(trained_store.data, quarantine_dir=None, max_rejected_share=1.0, require_churn=False).tables
    features = build_features(tables, [pd.Timestamp(result["as_of"])], spec)
    facts = client_facts(features.set_index(features["client_id"].astype(str))).reindex(listed["client_id"])
    by_words = {action.en: key for key, action in playbook.actions.items()}
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
