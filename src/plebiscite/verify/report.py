"""Verification results as data: each check has an id, a title and an outcome."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "not_applicable", "pending"]


class CannotRun(Exception):
    """A check's inputs are missing or unusable (often because an earlier check failed):
    the check fails, saying why."""


class NotApplicable(Exception):
    """Nothing for a check to check, with the reason shown (e.g. an unwitnessed
    referendum)."""


class Pending(Exception):
    """A check of a board still being written (a role's checked view) whose entries are
    not all posted yet: nothing wrong so far, nothing to pass either."""


def run_check(fn: Callable[[], Sequence[str] | None]) -> tuple[Status, list[str]]:
    """A check's outcome: ``fn`` returns its problems (none: passed), or None (not
    applicable), or raises CannotRun (failed), NotApplicable or Pending (with the
    reason)."""
    try:
        details = fn()
    except CannotRun as exc:
        return "failed", [f"cannot run: {exc}"]
    except NotApplicable as exc:
        return "not_applicable", [str(exc)]
    except Pending as exc:
        return "pending", [str(exc)]
    if details is None:
        return "not_applicable", []
    return ("failed" if details else "passed"), list(details)


@dataclass(frozen=True)
class CheckSpec:
    """One row of a check table, ours (``verify/table.py``) or a foreign record's
    (``interop/``): the steps of the specifications and tools it corresponds to are
    named by each table, in the order its reports show them."""

    id: str
    title: str
    refs: tuple[tuple[str, str], ...] = ()

    @property
    def references(self) -> dict[str, str]:
        return dict(self.refs)


@dataclass
class CheckResult:
    id: str
    title: str
    status: Status
    details: list[str] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "details": self.details,
            "references": self.references,
        }


@dataclass
class Report:
    checks: list[CheckResult]
    summary: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] | None = None
    forensics: dict[str, Any] | None = None

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def status_of(self, check_id: str) -> Status:
        for c in self.checks:
            if c.id == check_id:
                return c.status
        raise KeyError(check_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": "verified" if self.ok else "failed",
            "checks": [c.to_json() for c in self.checks],
            "summary": self.summary,
            "results": self.results,
            "forensics": self.forensics,
        }
