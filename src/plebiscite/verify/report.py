"""Verification results as data: each check has an id, a title and an outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "not_applicable"]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    electionguard: str  # the ElectionGuard 2.1 verification step(s) it corresponds to
    belenios: str  # the Belenios check it corresponds to

    @property
    def references(self) -> dict[str, str]:
        return {"electionguard_2_1": self.electionguard, "belenios": self.belenios}


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
