"""The contract between readers, the engine and the job runner."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from identity.observation import Observation

__all__ = ["OUTCOMES", "ChunkOutcome", "ImportRow", "Reject", "row_or_reject"]

#: Every row ends as exactly one of these (SPEC section 7).
OUTCOMES = ("created", "matched", "merged", "duplicate", "rejected")


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One parsed row: its line number in the file (1-based, a CSV header is line 1)
    and the observation it carries."""

    line: int
    observation: Observation


@dataclass(frozen=True, slots=True)
class Reject:
    """A row that was not applied, with a reason that names what was wrong (field,
    value kind) and never a raw phone number or email."""

    line: int
    reason: str


def row_or_reject(line: int, parsed: Observation | str) -> ImportRow | Reject:
    """The row of a parsed observation, or the reject of a reason."""
    return Reject(line, parsed) if isinstance(parsed, str) else ImportRow(line, parsed)


@dataclass
class ChunkOutcome:
    """What applying a chunk of rows did: counts by outcome and the rejected rows."""

    counts: Counter[str] = field(default_factory=Counter)
    rejects: list[Reject] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.counts["rejected"] += 1
        self.rejects.append(Reject(line, reason))

    def add(self, other: ChunkOutcome) -> None:
        self.counts.update(other.counts)
        self.rejects.extend(other.rejects)
