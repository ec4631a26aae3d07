"""Synthetic churn data in the input contract, reproducible from a seed.

`generator.generate(out, n_clients, seed, end, ...)` writes the five contract tables plus `truth`
(`generator.DEFAULT_END` is the default last day). The other modules are its parts, one per piece
of the simulated world: `parameters` (every named constant), `window` (the months covered),
`clients` (the client base and its hidden health), `history` (the month-by-month run: churn dates,
tickets, truth), `tickets`, `surveys`, `events` (the activity log) and `tables` (the output format).
`profiles` names the worlds `generate(..., profile=)` writes; `snapshot` (a telecom-style extract)
and `interactions` (churn from combined effects) are the parts only a profile uses.
"""

__all__ = ["generator"]
