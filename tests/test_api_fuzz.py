"""Property-based fuzzing of every operation in the API's OpenAPI schema (schemathesis).

The app runs in-process (ASGI) on two fresh demo referendums: one open for voting, with a
few ballots on its board, and one already decided. Each generated request is sent with
the path's ``rid`` (and ``code``/``name`` where a path has them) replaced, for some runs,
by a real referendum's id, a real tracking code or a real attestation file name, and with
the ``Authorization`` header set to the real admin token, to a wrong one, or left out,
so the fuzzer gets past the 404 and 401 walls as well as hitting them.

Every response must be: not a 5xx; a 4xx with a JSON object body holding ``detail``;
valid against the response schema where the schema declares one; and in time (every
call has a timeout, every example a deadline). Bounded: a few dozen examples per
operation, so the file runs in well under a minute.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from plebiscite.crypto.group import get_group
from plebiscite.election.booth import cast, challenge, encrypt_ballot
from plebiscite.election.credentials import credential_key, public_credential
from plebiscite.election.demo import builtin_manifest
from plebiscite.record import codec
from plebiscite.record.manifest import parse_manifest
from plebiscite.server.app import create_app
from plebiscite.server.demo import create_demo
from plebiscite.server.registry import Registry

# A longer hunt: PLEBISCITE_FUZZ_EXAMPLES=500 pytest tests/test_api_fuzz.py
MAX_EXAMPLES = int(os.environ.get("PLEBISCITE_FUZZ_EXAMPLES", "25"))
CALL_TIMEOUT = 10.0  # seconds: a call that takes longer is a hang
DEADLINE = timedelta(seconds=5)  # per example (one call and its checks)


@dataclass
class Demo:
    app: Any
    schema: Any  # the schemathesis schema, loaded from the app's /openapi.json
    token: str
    open_rid: str
    decided_rid: str
    codes: list[str]  # tracking codes on the boards


def _ballot(client: TestClient, rid: str, voter: dict[str, str]) -> tuple[Any, Any]:
    info = client.get(f"/api/referendums/{rid}").json()
    m = parse_manifest(info["manifest"])
    g = get_group(m.group)
    ctx = bytes.fromhex(info["context"]["context_hash"])
    key = codec.element(g, info["context"]["joint_key"])
    eid = info["election_id"]
    choices = {"status": ["yes"], "capital": ["lerwick"]}
    b = encrypt_ballot(
        g, m, ctx, key, voter["region"], choices, public_credential(eid, voter["credential"])
    )
    return cast(b, eid, credential_key(eid, voter["credential"])), challenge(g, b)


def _cast_some(client: TestClient, rid: str, voters: list[dict[str, str]], n: int) -> list[str]:
    """Cast ``n`` ballots (and post one challenged ballot); returns their tracking codes."""
    codes = []
    for v in voters[:n]:
        r = client.post(f"/api/referendums/{rid}/signin", json={"code": v["code"]})
        assert r.status_code == 200, r.text
        csrf = r.json()["csrf"]
        sub, chal = _ballot(client, rid, v)
        r = client.post(
            f"/api/referendums/{rid}/ballots", json=sub.to_json(), headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 200, r.text
        codes.append(sub.data["tracking_code"])
        client.post(f"/api/referendums/{rid}/signout")
    _, chal = _ballot(client, rid, voters[0])  # a fresh encryption, opened instead of cast
    r = client.post(f"/api/referendums/{rid}/challenges", json=chal.to_json())
    assert r.status_code == 200, r.text
    codes.append(chal.data["tracking_code"])
    return codes


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    registry = Registry(tmp_path_factory.mktemp("fuzz") / "data")
    token = registry.new_admin_token()
    open_ref, open_voters = create_demo(registry, builtin_manifest(), 2)
    decided_ref, decided_voters = create_demo(registry, builtin_manifest(), 1)
    app = create_app(registry, demo=True, signin_limit=10_000)
    with TestClient(app) as client:
        codes = _cast_some(client, open_ref.id, open_voters, 2)
        codes += _cast_some(client, decided_ref.id, decided_voters, 1)
        r = client.post(
            f"/api/admin/referendums/{decided_ref.id}/close",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200 and r.json()["stage"] == "decided", r.text
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield Demo(app, schema, token, open_ref.id, decided_ref.id, codes)
    registry.close()


def detail_on_4xx(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every client error is a JSON object with a ``detail``."""
    if 400 <= response.status_code < 500:
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            raise AssertionError(
                f"{response.status_code} without a JSON body: {response.content[:200]!r}"
            ) from exc
        assert isinstance(body, dict) and "detail" in body, (
            f"{response.status_code} body has no 'detail': {body!r}"
        )
    return None


CHECKS = [not_a_server_error, response_schema_conformance, detail_on_4xx]


def _pick(data: st.DataObject, real: list[str], label: str) -> str | None:
    """A real value (from ``real``), or None (keep the generated one) one time in four."""
    return data.draw(st.sampled_from([*real, *real, *real, None]), label)


def _operations() -> list[str]:
    """Every operation in the schema, as ``METHOD /path`` (read from a throwaway app)."""
    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(Path(tmp))
        doc = create_app(registry).openapi()
        registry.close()
    return [f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops]


OPERATIONS = _operations()


def test_schema_declares_error_bodies(demo: Demo) -> None:
    """Regression: the schema declared FastAPI's default 422 (``detail`` a list) while
    every error handler sends ``{"detail": <message>}``; now every operation declares its
    4xx body as ``ErrorOut`` (``detail``, and ``errors`` for schema mismatches)."""
    doc = demo.app.openapi()
    assert len(OPERATIONS) >= 25 and "GET /api/referendums/{rid}" in OPERATIONS
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            ref = op["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorOut"), (method, path)
    client = TestClient(demo.app)
    r = client.post(f"/api/referendums/{demo.open_rid}/signin", json={"code": 5})
    assert r.status_code == 422 and isinstance(r.json()["detail"], str) and r.json()["errors"]


@pytest.mark.parametrize("label", OPERATIONS)
def test_api_operation(label: str, demo: Demo) -> None:
    method, path = label.split(" ", 1)
    operation = demo.schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=DEADLINE,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=cases, data=st.data())
    def fuzz(case: Any, data: st.DataObject) -> None:
        params = case.path_parameters
        if params is not None and "rid" in params:
            rid = _pick(data, [demo.open_rid, demo.decided_rid], "rid")
            if rid is not None:
                params["rid"] = rid
        if params is not None and "code" in params:
            code = _pick(data, demo.codes, "code")
            if code is not None:
                params["code"] = code
        query = case.query
        if query and data.draw(st.booleans(), "small integers"):
            # integers within the board's size too, not only anywhere (proof ranges)
            for k, v in query.items():
                if isinstance(v, int) and not isinstance(v, bool):
                    query[k] = data.draw(st.integers(0, 24), k)
        generated = dict(case.headers or {})
        headers = {k: v for k, v in generated.items() if k.lower() != "authorization"}
        kinds = ["admin", "admin", "generated", "wrong", "none"]
        auth = data.draw(st.sampled_from(kinds), "auth")
        if auth == "admin":
            headers["Authorization"] = f"Bearer {demo.token}"
        elif auth == "wrong":
            headers["Authorization"] = "Bearer not-the-token"
        elif auth == "generated":
            headers.update({k: v for k, v in generated.items() if k.lower() == "authorization"})
        case.headers = headers
        case.call_and_validate(checks=CHECKS, timeout=CALL_TIMEOUT)

    fuzz()
