"""The published record holds no secret the demo generated."""

from __future__ import annotations

import base64
from pathlib import Path

from plebiscite.election.credentials import credential_key
from plebiscite.election.keys import seed_of


def _forms(secret: str) -> set[str]:
    """The ways a secret could appear: as given, without separators, in hex and base64."""
    forms = {secret, secret.replace("-", "")}
    try:
        raw = bytes.fromhex(secret)
    except ValueError:
        raw = None
    if raw is None:
        try:
            raw = base64.b64decode(secret, validate=True)
        except ValueError:
            raw = None
    if raw:
        forms |= {raw.hex(), base64.b64encode(raw).decode()}
        forms |= {raw.hex().lstrip("0") or "0"}
    return {f for f in forms if len(f) >= 16}


def test_record_holds_no_secret(demo_outcome) -> None:
    out = demo_outcome
    text = "\n".join(p.read_text() for p in Path(out.record).iterdir() if p.is_file())
    eid = out.organiser.election_id
    secrets = list(out.secrets["credentials"]) + out.secrets["nonces"] + out.secrets["guardian"]
    secrets += [seed_of(credential_key(eid, c)) for c in out.secrets["credentials"]]
    secrets += [seed_of(out.organiser.key)]
    assert out.authority_key is not None
    secrets += [seed_of(out.authority_key)]
    assert len(out.secrets["nonces"]) > 50 and len(out.secrets["guardian"]) > 10
    leaks = [s for s in secrets for f in _forms(s) if f in text]
    assert not leaks, f"{len(leaks)} secrets found in the record, e.g. {leaks[0][:12]}…"


def test_secret_search_finds_a_planted_secret(demo_outcome, record_copy: Path) -> None:
    """The search above can fail: plant one nonce and it is found."""
    nonce = demo_outcome.secrets["nonces"][0]
    with (record_copy / "entries.jsonl").open("a") as f:
        f.write(nonce + "\n")
    text = (record_copy / "entries.jsonl").read_text()
    assert any(form in text for form in _forms(nonce))
