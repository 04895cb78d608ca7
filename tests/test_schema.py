"""The JSON Schema of the record (src/plebiscite/record/schema.json) fits the record the
code writes, names exactly the entry types the code knows, and rejects malformed lines."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from plebiscite.election.demo import DemoOutcome, run_demo
from plebiscite.record.entries import ENTRY_TYPES

SCHEMA: dict[str, Any] = json.loads(
    (resources.files("plebiscite.record") / "schema.json").read_text(encoding="utf-8")
)
ENTRY = Draft202012Validator(SCHEMA)
CHECKPOINT = Draft202012Validator(
    {"$schema": SCHEMA["$schema"], "$defs": SCHEMA["$defs"], "$ref": "#/$defs/checkpoint"}
)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().split(b"\n")[:-1]]


def _problems(validator: Draft202012Validator, items: list[dict[str, Any]]) -> list[str]:
    return [
        f"line {n}: {'/'.join(map(str, err.absolute_path))}: {err.message[:200]}"
        for n, item in enumerate(items)
        for err in validator.iter_errors(item)
    ]


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)


def test_the_schema_names_exactly_the_entry_types_of_the_code() -> None:
    assert set(SCHEMA["properties"]["type"]["enum"]) == set(ENTRY_TYPES)
    branches = {b["if"]["properties"]["type"]["const"] for b in SCHEMA["allOf"]}
    assert branches == set(ENTRY_TYPES)


def test_every_entry_of_the_demo_record_fits(demo_outcome: DemoOutcome) -> None:
    entries = _lines(demo_outcome.record / "entries.jsonl")
    # The fixture exercises every branch of the schema, challenged ballots included; the
    # demo has no dispute (see test_a_dispute_fits).
    assert {e["type"] for e in entries} == set(ENTRY_TYPES) - {"dispute"}
    assert _problems(ENTRY, entries) == []


def test_every_checkpoint_of_the_demo_record_fits(demo_outcome: DemoOutcome) -> None:
    checkpoints = _lines(demo_outcome.record / "checkpoints.jsonl")
    assert checkpoints
    assert _problems(CHECKPOINT, checkpoints) == []


@pytest.mark.slow
@pytest.mark.parametrize("group", ["belenios-2048", "modp-4096"])
def test_records_over_the_integer_groups_fit(group: str, tmp_path: Path) -> None:
    out = run_demo(tmp_path / "data", tmp_path / "record", voters=1, seed=1, group=group)
    out.organiser.close_store()
    assert _problems(ENTRY, _lines(out.record / "entries.jsonl")) == []
    assert _problems(CHECKPOINT, _lines(out.record / "checkpoints.jsonl")) == []


# --- the schema can fail -----------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _first_choice(e: dict[str, Any]) -> dict[str, Any]:
    choice: dict[str, Any] = e["data"]["answers"][0]["choices"][0]
    return choice


def _set(path: list[Any], value: Any) -> Mutation:
    def mutate(e: dict[str, Any]) -> None:
        target = e
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


BAD_BALLOTS: dict[str, Mutation] = {
    "unknown key in the envelope": _set(["extra"], 1),
    "unknown key in the data": _set(["data", "extra"], 1),
    "unknown key in a proof branch": lambda e: _first_choice(e)["proof"][0].update(x="00"),
    "unknown entry type": _set(["type"], "vote"),
    "element in upper-case hex": lambda e: _first_choice(e).update(
        alpha=_first_choice(e)["alpha"].upper()
    ),
    "element of odd length": lambda e: _first_choice(e).update(
        alpha=_first_choice(e)["alpha"][:-1]
    ),
    "element that is not hex": lambda e: _first_choice(e).update(
        beta="zz" + _first_choice(e)["beta"][2:]
    ),
    "scalar too short": lambda e: _first_choice(e)["proof"][0].update(c="00"),
    "0/1 proof with three branches": lambda e: _first_choice(e)["proof"].append(
        _first_choice(e)["proof"][0]
    ),
    "tracking code not hex": _set(["data", "tracking_code"], "g" * 64),
    "unsigned ballot": lambda e: e.update(signer=None, signature=None),
    "signer not canonical base64": lambda e: e.update(signer=e["signer"][:42] + "B="),
    "signature of the wrong length": lambda e: e.update(signature=e["signature"][:-4]),
    "region that is not an id": _set(["data", "region"], "-orkney"),
    "time without milliseconds": _set(["time"], "2027-03-07T08:00:00Z"),
    "missing data key": lambda e: e["data"].pop("credential"),
}


@pytest.mark.parametrize("mutation", list(BAD_BALLOTS), ids=list(BAD_BALLOTS))
def test_the_schema_rejects_a_malformed_ballot(demo_outcome: DemoOutcome, mutation: str) -> None:
    entries = _lines(demo_outcome.record / "entries.jsonl")
    ballot = next(e for e in entries if e["type"] == "ballot")
    assert _problems(ENTRY, [ballot]) == []
    bad = copy.deepcopy(ballot)
    BAD_BALLOTS[mutation](bad)
    assert _problems(ENTRY, [bad]), f"the schema accepted a ballot with {mutation}"


def test_the_schema_rejects_malformed_lines_of_other_types(demo_outcome: DemoOutcome) -> None:
    entries = _lines(demo_outcome.record / "entries.jsonl")
    first = {t: next(e for e in entries if e["type"] == t) for t in ENTRY_TYPES if t != "dispute"}
    bad: list[dict[str, Any]] = []

    signed_challenge = copy.deepcopy(first["challenged_ballot"])
    signed_challenge.update(
        signer=first["ballot"]["signer"], signature=first["ballot"]["signature"]
    )
    bad.append(signed_challenge)

    opened = copy.deepcopy(first["open"])
    opened["data"]["at"] = "now"
    bad.append(opened)

    manifest = copy.deepcopy(first["referendum"])
    manifest["data"]["manifest"]["questions"][0]["colour"] = "red"
    bad.append(manifest)

    shares = copy.deepcopy(first["guardian_shares"])
    shares["data"]["shares"][0]["ciphertext"] += "AAAA"
    bad.append(shares)

    result = copy.deepcopy(first["result"])
    region = next(iter(result["data"]["counts"]))
    question = next(iter(result["data"]["counts"][region]))
    result["data"]["counts"][region][question]["yes"] = -1
    bad.append(result)

    for item in bad:
        assert _problems(ENTRY, [item]), f"the schema accepted a malformed {item['type']}"


def test_the_schema_rejects_a_malformed_checkpoint(demo_outcome: DemoOutcome) -> None:
    cp = _lines(demo_outcome.record / "checkpoints.jsonl")[-1]
    for key, value in [("root", cp["root"][:-2]), ("size", -1), ("witness", "x")]:
        bad = {**cp, key: value}
        assert _problems(CHECKPOINT, [bad]), f"the schema accepted a checkpoint with bad {key}"


def test_a_dispute_fits(demo_outcome: DemoOutcome) -> None:
    from plebiscite.record.entries import sign

    key = next(iter(demo_outcome.observer_keys.values()))
    data = {"region": "orkney", "about": "check", "receipt": None, "check": "V13", "evidence": "x"}
    entry = sign("dispute", data, demo_outcome.organiser.election_id, key).at(
        "2027-03-07T23:00:00.000Z"
    )
    assert _problems(ENTRY, [entry.to_json()]) == []
    bad = entry.to_json()
    bad["data"]["about"] = "gossip"
    assert _problems(ENTRY, [bad])
