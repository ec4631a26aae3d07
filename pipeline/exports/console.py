"""What the console says after a run, from the job's JSON result (English: the log's language)."""

from __future__ import annotations

from typing import Any


def call_sheet_lines(s: dict[str, Any]) -> list[str]:
    """What the console says about the call sheet's cut (the score job's summary as a dict)."""
    listed, scored = s["clients_listed"], s["clients_scored"]
    why = {"capacity": f"the team's capacity ({s['capacity_clients']:,} clients)",
           "profit": f"the last client worth a contact ({s['profitable_clients']:,} clients are)",
           "": ""}[s["limited_by"]]
    if not listed:
        lines = [f"the call sheet is empty: no client of {scored:,} is worth a contact at this cost"
                 if s["limited_by"] == "profit" else "the call sheet is empty: no client was scored"]
    else:
        lines = [f"call sheet: {listed:,} of {scored:,} scored clients" + (f", ended by {why}" if why else "")]
    if s["clients_beyond_cut"]:
        beyond = f"{s['clients_beyond_cut']:,} clients lie beyond the cut (every one is in the scored Parquet)"
        if s.get("value_at_risk_beyond_cut") is not None:
            beyond += f", holding {s['value_at_risk_beyond_cut']:,.0f} of expected value at risk"
        lines.append(beyond)
    if listed and s.get("value_at_risk_listed_share") is not None:
        lines.append(f"the {listed:,} listed clients hold {s['value_at_risk_listed_share']:.1%} of the expected value "
                     f"at risk ({s['value_at_risk_listed']:,.0f} of {s['value_at_risk_total']:,.0f})")
    return lines
