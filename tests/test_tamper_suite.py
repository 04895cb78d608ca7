"""The tamper suite, a seeded sample: every kind of mutation of ``tests/mutations.py``
is tried on a small demo record (and the element and scalar kinds on a modp-4096 one),
and each must be rejected by a named check, refused as unreadable (exit 2), or be
valid by design with its reason. ``make tamper`` (``scripts/tamper.py``) runs them all.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import mutations as mu
from plebiscite.verify.checks import verify_record
from plebiscite.verify.reader import read_record
from plebiscite.verify.report import CheckResult, Report

SEED = 2027
SAMPLE = 200


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> mu.Base:
    """The record ``make tamper`` uses: 2 voters per region (seed 6: a revote and a
    challenged ballot), and a voter's and an observer's dispute."""
    return mu.build_base(tmp_path_factory.mktemp("tamper"), voters=2, seed=6)


@pytest.fixture(scope="module")
def modp_base(tmp_path_factory: pytest.TempPathFactory) -> mu.Base:
    folder = tmp_path_factory.mktemp("tamper-modp")
    return mu.build_base(folder, voters=1, seed=1, group="modp-4096", disputes=False)


@pytest.fixture(scope="module")
def sampled(base: mu.Base) -> dict[str, list[mu.Mutation]]:
    by_kind: dict[str, list[mu.Mutation]] = {}
    for m in mu.sample(mu.generate(base, SEED), SAMPLE, SEED):
        if mu.known_bug(m) is None:  # each has its own xfail test below
            by_kind.setdefault(m.kind, []).append(m)
    return by_kind


def run(base: mu.Base, ms: list[mu.Mutation], folder: Path) -> list[str]:
    """The mutations that failed the suite, one line each."""
    bad = []
    for m in ms:
        v = mu.judge(base, m, folder)
        if v.outcome in mu.BAD:
            bad.append(f"[{v.outcome}] {m.description}: {v.detail}")
    return bad


def test_the_base_records_verify(base: mu.Base, modp_base: mu.Base) -> None:
    for b in (base, modp_base):
        report = verify_record(read_record(b.outcome.record), workers=1)
        assert report.ok, [(c.id, c.details[:2]) for c in report.failed]
    types = {e.type for e in base.entries}
    assert {"challenged_ballot", "dispute", "voter_roll", "observer_accreditation"} <= types
    creds = [e.data["credential"] for e in base.entries if e.type == "ballot"]
    assert len(set(creds)) < len(creds), "the base record needs a revote"


@pytest.mark.parametrize("kind", list(mu.KINDS))
def test_sampled_mutations_are_caught(
    kind: str, base: mu.Base, sampled: dict[str, list[mu.Mutation]], tmp_path: Path
) -> None:
    ms = sampled.get(kind, [])
    assert ms, f"the sample has no mutation of kind {kind}"
    bad = run(base, ms, tmp_path / "mutated")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("kind", mu.SECOND_KINDS)
def test_modp_record_mutations_are_caught(kind: str, modp_base: mu.Base, tmp_path: Path) -> None:
    ms = [m for m in mu.generate(modp_base, SEED, [kind]) if mu.known_bug(m) is None]
    assert ms and all(m.kind == f"{kind}@modp-4096" for m in ms)
    # Two of each kind, a ballot's among them if any: a modp-4096 check takes ~1 s.
    ballots = [m for m in ms if "(ballot)" in m.description]
    picked = [*ballots[:1], *[m for m in ms if m not in ballots][:1]]
    bad = run(modp_base, picked, tmp_path / "mutated")
    assert not bad, "\n".join(bad)


def test_every_known_bug_has_a_test() -> None:
    assert set(mu.KNOWN_BUGS) <= {bug for _, bug, _ in BUGS}


def test_the_sample_is_seeded_and_covers_every_kind(base: mu.Base) -> None:
    ms = mu.generate(base, SEED)
    a = [m.description for m in mu.sample(ms, SAMPLE, SEED)]
    b = [m.description for m in mu.sample(mu.generate(base, SEED), SAMPLE, SEED)]
    assert a == b
    assert {m.kind for m in mu.sample(ms, SAMPLE, SEED)} == set(mu.KINDS)
    assert SAMPLE <= len(a) <= 2 * SAMPLE


def _report(*failed: str, results: bool = False) -> Report:
    checks = [CheckResult(c, c, "failed", [f"{c} detail"]) for c in failed]
    return Report(checks, {}, {"r": {}} if results else None)


def test_a_verdict_names_what_caught_it() -> None:
    def nothing(folder: Path) -> None:
        pass

    plain = mu.Mutation("k", "d", nothing)
    must = mu.Mutation("k", "d", nothing, catch=frozenset({"V05"}))
    legit = mu.Mutation("k", "d", nothing, valid="a reason")
    earlier = mu.Mutation("k", "d", nothing, valid="a prefix", earlier=True)
    assert mu.classify(plain, _report()).outcome == mu.PASSED
    assert mu.classify(plain, _report("V02", "V05")).failed == ("V02", "V05")
    assert mu.classify(must, _report("V02")).outcome == mu.MISSED
    assert mu.classify(must, _report("V02", "V05")).outcome == mu.REJECTED
    assert mu.classify(legit, _report()) == mu.Verdict(mu.VALID, (), "a reason")
    assert mu.classify(legit, _report("V06")).outcome == mu.REJECTED
    assert mu.classify(earlier, _report()).outcome == mu.VALID
    # A cut record that still shows results is not an earlier stage: it passed.
    assert mu.classify(earlier, _report(results=True)).outcome == mu.PASSED


def test_a_mutation_that_changes_nothing_or_breaks_is_reported(
    base: mu.Base, tmp_path: Path
) -> None:
    def nothing(folder: Path) -> None:
        pass

    def broken(folder: Path) -> None:
        raise KeyError("oops")

    folder = tmp_path / "m"
    assert mu.judge(base, mu.Mutation("k", "d", nothing), folder).outcome == mu.UNCHANGED
    v = mu.judge(base, mu.Mutation("k", "d", broken), folder)
    assert v.outcome == mu.ERROR and "KeyError" in v.detail


def test_non_members_are_not_members(base: mu.Base, modp_base: mu.Base) -> None:
    from plebiscite.record import codec
    from plebiscite.record.entries import EntryError

    for b in (base, modp_base):
        g = b.group
        member = g.g_pow(12345).hex()
        for what, text in mu.non_members(g, member):
            with pytest.raises(EntryError):
                codec.element(g, text, what)
        for what, text in mu.bad_scalars(g, "00" * 31 + "07"):
            with pytest.raises(EntryError):
                codec.scalar(g, text, what)


def test_the_runner_reports_per_kind_and_per_check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(__file__).resolve().parent.parent
    monkeypatch.syspath_prepend(str(root / "scripts"))
    sys.modules.pop("tamper", None)
    import tamper

    kinds = "ballot-late,truncated-mid-line"
    code = tamper.main(["--kinds", kinds, "--limit", "8", "--json", "--quiet", "--no-modp"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["failures"]
    assert set(report["kinds"]) == set(kinds.split(","))
    assert report["unreadable"] == report["kinds"]["truncated-mid-line"]["unreadable"] > 0
    assert report["checks"]["V06"]["any"] >= report["kinds"]["ballot-late"]["rejected"] // 2
    assert not report["failures"]


# --- known verifier bugs (mu.KNOWN_BUGS): each must fail once the verifier is fixed ----


def _guardian_index_true(base: mu.Base, modp: mu.Base) -> tuple[mu.Base, mu.Mutation]:
    n = next(i for i, e in enumerate(base.entries) if e.data.get("index") == 1)
    return base, mu.owner_change(base, "int-as-bool", n, ("index",), True, "True")


def _tally_counted_true(base: mu.Base, modp: mu.Base) -> tuple[mu.Base, mu.Mutation]:
    n = modp.index_of("tally")
    region = next(r for r, c in modp.entries[n].data["counted"].items() if c == 1)
    return modp, mu.owner_change(modp, "int-as-bool", n, ("counted", region), True, "True")


def _dispute_region_list(base: mu.Base, modp: mu.Base) -> tuple[mu.Base, mu.Mutation]:
    n = base.index_of("dispute")
    region = base.entries[n].data["region"]
    return base, mu.owner_change(base, "leaf-type", n, ("region",), [region], "a list")


def _cosignature_not_canonical(base: mu.Base, modp: mu.Base) -> tuple[mu.Base, mu.Mutation]:
    lines = base.lines(mu.COSIGNATURES)
    what, lines[0] = mu.noncanonical(lines[0], 0)
    make = mu.set_lines(mu.COSIGNATURES, lines)
    return base, mu.Mutation("line-noncanonical", f"cosignatures.jsonl line 0: {what}", make)


# Verifier bugs the suite found, each with the mutation that showed it: ``mu.KNOWN_BUGS``
# holds those still open (xfail until fixed); the fixed ones stay here as regression tests.
BUGS = [
    ("V07", "V07-index-true", _guardian_index_true),
    ("V16", "V16-counted-true", _tally_counted_true),
    ("V06", "V06-dispute-region-crash", _dispute_region_list),
    ("V22", "V22-noncanonical-cosignature", _cosignature_not_canonical),
]


def _marks(bug: str) -> list[pytest.MarkDecorator]:
    if bug not in mu.KNOWN_BUGS:
        return []
    return [pytest.mark.xfail(strict=True, reason=mu.KNOWN_BUGS[bug][1])]


@pytest.mark.parametrize(
    ("check", "build"),
    [pytest.param(c, b, id=bug, marks=_marks(bug)) for c, bug, b in BUGS],
)
def test_verifier_bug_found_by_the_suite(
    check: str, build: object, base: mu.Base, modp_base: mu.Base, tmp_path: Path
) -> None:
    assert callable(build)
    b, m = build(base, modp_base)
    v = mu.judge(b, m, tmp_path / "mutated")
    assert v.outcome == mu.REJECTED and check in v.failed, v
