"""The errors meant for users: bad input they can fix, and a gate that stops a publication."""

from __future__ import annotations


class ContractError(Exception):
    """Bad input or configuration a user can fix: names the file, the column and a count.

    The CLI turns it into exit code 2 and one line on stderr.
    """

    def __init__(self, message: str, *, file: str | None = None, column: str | None = None,
                 count: int | None = None) -> None:
        self.file = file
        self.column = column
        self.count = count
        parts = []
        if file:
            parts.append(str(file))
        if column:
            parts.append(f"column '{column}'")
        prefix = ": ".join([", ".join(parts)]) if parts else ""
        super().__init__(f"{prefix}: {message}" if prefix else message)


class GateStop(ContractError):
    """The data reads, but a gate says tonight's list should not be published: a feature the
    model needs is missing, the inputs drifted, or the model's realised performance fell.

    The CLI turns it into exit code 3 (the previous list stays in place).
    """
