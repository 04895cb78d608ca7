"""The server's API in-process (TestClient): sign-in, cast, challenge, receipts, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from plebiscite.crypto.group import get_group
from plebiscite.election.booth import cast, challenge, encrypt_ballot, with_replaces
from plebiscite.election.credentials import credential_key, public_credential
from plebiscite.election.demo import builtin_manifest
from plebiscite.record import codec
from plebiscite.record.manifest import parse_manifest
from plebiscite.server.app import create_app
from plebiscite.server.demo import create_demo
from plebiscite.server.registry import Registry


@pytest.fixture
def server(tmp_path: Path) -> Any:
    registry = Registry(tmp_path / "data")
    token = registry.new_admin_token()
    ref, voters = create_demo(registry, builtin_manifest(), 4)
    app = create_app(registry, demo=True, signin_limit=50)
    with TestClient(app) as client:
        yield client, ref, voters, token
    registry.close()


def _ballot(
    client: TestClient,
    rid: str,
    voter: dict[str, str],
    choices: dict[str, list[str]],
    replaces: str | None = None,
) -> Any:
    info = client.get(f"/api/referendums/{rid}").json()
    m = parse_manifest(info["manifest"])
    g = get_group(m.group)
    ctx = bytes.fromhex(info["context"]["context_hash"])
    key = codec.element(g, info["context"]["joint_key"])
    eid = info["election_id"]
    pub = public_credential(eid, voter["credential"])
    b = encrypt_ballot(g, m, ctx, key, voter["region"], choices, pub, replaces)
    return b, cast(b, eid, credential_key(eid, voter["credential"])), challenge(g, b)


def _signin(client: TestClient, rid: str, code: str) -> str:
    r = client.post(f"/api/referendums/{rid}/signin", json={"code": code})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


CHOICES = {"status": ["yes"], "capital": ["lerwick"]}


def test_cast_needs_signin_csrf_and_own_region(server: Any) -> None:
    client, ref, voters, _ = server
    v = next(x for x in voters if x["region"] == "orkney")
    _, sub, _ = _ballot(client, ref.id, v, CHOICES)
    url = f"/api/referendums/{ref.id}/ballots"
    assert client.post(url, json=sub.to_json()).status_code == 401
    csrf = _signin(client, ref.id, v["code"])
    assert client.post(url, json=sub.to_json()).status_code == 403
    r = client.post(url, json=sub.to_json(), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert receipt["tracking_code"] == sub.data["tracking_code"]
    # The same ballot again (a client that lost its acknowledgement retries): the same
    # receipt, and nothing appended twice.
    size = ref.org.size
    r2 = client.post(url, json=sub.to_json(), headers={"X-CSRF-Token": csrf})
    assert r2.status_code == 200 and r2.json()["index"] == receipt["index"]
    assert ref.org.size == size
    found = client.get(f"/api/referendums/{ref.id}/tracking/{receipt['tracking_code']}").json()
    assert found["index"] == receipt["index"] and found["superseded"] is False


def test_one_signin_one_credential(server: Any) -> None:
    client, ref, voters, _ = server
    a, b = [x for x in voters if x["region"] == "shetland"][:2]
    csrf = _signin(client, ref.id, a["code"])
    url = f"/api/referendums/{ref.id}/ballots"
    _, sub_a, _ = _ballot(client, ref.id, a, CHOICES)
    assert client.post(url, json=sub_a.to_json(), headers={"X-CSRF-Token": csrf}).status_code == 200
    _, sub_b, _ = _ballot(client, ref.id, b, CHOICES)
    r = client.post(url, json=sub_b.to_json(), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and "another credential" in r.json()["detail"]
    # a revote with the same credential is fine
    again_choices = {"status": ["no"], "capital": ["kirkwall"]}
    _, again, _ = _ballot(client, ref.id, a, again_choices, sub_a.data["tracking_code"])
    assert client.post(url, json=again.to_json(), headers={"X-CSRF-Token": csrf}).status_code == 200
    old = client.get(f"/api/referendums/{ref.id}/tracking/{sub_a.data['tracking_code']}").json()
    assert old["superseded"] is True


def _head(client: TestClient, rid: str, voter: dict[str, str]) -> Any:
    eid = client.get(f"/api/referendums/{rid}").json()["election_id"]
    pub = public_credential(eid, voter["credential"])
    r = client.get(f"/api/referendums/{rid}/credentials/{quote(pub, safe='')}/head")
    assert r.status_code == 200, r.text
    return r.json()


def test_revotes_are_a_chain_a_stale_ballot_gets_409_and_is_built_again(server: Any) -> None:
    """The head endpoint names the credential's latest ballot; a ballot that names an
    older head is refused with 409 {"detail": "stale", "head": ...} and nothing is
    appended; the same encryption signed again on that head is accepted (same tracking
    code); the acknowledged ballot sent again still gets its receipt."""
    client, ref, voters, _ = server
    v = next(x for x in voters if x["region"] == "lewis")
    rid = ref.id
    url = f"/api/referendums/{rid}/ballots"
    assert _head(client, rid, v) == {"tracking_code": None, "index": None}
    csrf = _signin(client, rid, v["code"])
    headers = {"X-CSRF-Token": csrf}
    _, first, _ = _ballot(client, rid, v, CHOICES)
    r1 = client.post(url, json=first.to_json(), headers=headers)
    assert r1.status_code == 200, r1.text
    head = {"tracking_code": first.data["tracking_code"], "index": r1.json()["index"]}
    assert _head(client, rid, v) == head
    # a booth that read the head before the first ballot arrived (or a second device)
    b, stale, _ = _ballot(client, rid, v, {"status": ["no"], "capital": ["kirkwall"]})
    size = ref.org.size
    r = client.post(url, json=stale.to_json(), headers=headers)
    assert r.status_code == 409 and r.json() == {"detail": "stale", "head": head}
    assert ref.org.size == size
    # built again once on the head it was told: accepted, same tracking code
    eid = client.get(f"/api/referendums/{rid}").json()["election_id"]
    key = credential_key(eid, v["credential"])
    rebuilt = cast(with_replaces(b, head["tracking_code"]), eid, key)
    r = client.post(url, json=rebuilt.to_json(), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["tracking_code"] == b.tracking_code == stale.data["tracking_code"]
    assert _head(client, rid, v) == {"tracking_code": b.tracking_code, "index": r.json()["index"]}
    # the first ballot again (its acknowledgement was lost): its receipt, not "stale"
    again = client.post(url, json=first.to_json(), headers=headers)
    assert again.status_code == 200 and again.json()["index"] == head["index"]


def test_the_head_endpoint_refuses_what_is_not_a_credential(server: Any) -> None:
    client, ref, voters, _ = server
    rid = ref.id
    eid = client.get(f"/api/referendums/{rid}").json()["election_id"]
    pub = public_credential(eid, voters[0]["credential"])
    urlsafe = pub.replace("+", "-").replace("/", "_")
    r = client.get(f"/api/referendums/{rid}/credentials/{urlsafe}/head")
    assert r.status_code == 200 and r.json() == {"tracking_code": None, "index": None}
    for bad in ("nope", "A" * 43, quote(pub[:-2], safe="")):
        r = client.get(f"/api/referendums/{rid}/credentials/{bad}/head")
        assert r.status_code == 422 and "public credential" in r.json()["detail"], bad
    r = client.get(f"/api/referendums/nope/credentials/{urlsafe}/head")
    assert r.status_code == 404


def test_challenge_is_anonymous_and_checked(server: Any) -> None:
    client, ref, voters, _ = server
    v = voters[0]
    _, _, chal = _ballot(client, ref.id, v, CHOICES)
    url = f"/api/referendums/{ref.id}/challenges"
    r = client.post(url, json=chal.to_json())
    assert r.status_code == 200, r.text
    lie = chal.to_json()
    lie["data"]["answers"][0]["choices"] = ["no"]
    lie["data"]["tracking_code"] = "0" * 64
    r = client.post(url, json=lie)
    assert r.status_code == 422 and "does not open" in r.json()["detail"]


def test_bad_input_is_4xx_json(server: Any) -> None:
    client, ref, _, _ = server
    rid = ref.id
    cases = [
        ("get", "/api/referendums/nope", None, 404),
        ("post", f"/api/referendums/{rid}/signin", {"code": "WRONG-CODE"}, 401),
        ("post", f"/api/referendums/{rid}/signin", {"code": 5}, 422),
        ("post", f"/api/referendums/{rid}/signin", {"nope": 1}, 422),
        ("post", f"/api/referendums/{rid}/challenges", {"type": "ballot", "data": {}}, 422),
        (
            "post",
            f"/api/referendums/{rid}/challenges",
            {"type": "challenged_ballot", "data": {}},
            422,
        ),
        ("post", f"/api/referendums/{rid}/submissions", {"type": "x", "data": {}}, 422),
        ("get", f"/api/referendums/{rid}/tracking/zz", None, 422),
        ("get", f"/api/referendums/{rid}/tracking/" + "a" * 64, None, 404),
        ("get", f"/api/referendums/{rid}/proof/inclusion?index=5&size=2", None, 422),
        ("get", f"/api/referendums/{rid}/results", None, 409),
        ("post", "/api/admin/referendums", {"title": "x"}, 401),
    ]
    for method, url, body, status in cases:
        r = client.request(method.upper(), url, json=body)
        assert r.status_code == status, (url, r.status_code, r.text)
        assert "detail" in r.json()


def test_signin_is_rate_limited(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "d")
    ref, _ = create_demo(registry, builtin_manifest(), 1)
    with TestClient(create_app(registry, signin_limit=3)) as client:
        codes = [
            client.post(f"/api/referendums/{ref.id}/signin", json={"code": "X"}).status_code
            for _ in range(5)
        ]
    assert codes == [401, 401, 401, 429, 429]
    registry.close()


def test_admin_close_finishes_demo_and_results(server: Any) -> None:
    client, ref, voters, token = server
    v = next(x for x in voters if x["region"] == "lewis")
    csrf = _signin(client, ref.id, v["code"])
    _, sub, _ = _ballot(client, ref.id, v, CHOICES)
    client.post(
        f"/api/referendums/{ref.id}/ballots", json=sub.to_json(), headers={"X-CSRF-Token": csrf}
    )
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post(f"/api/admin/referendums/{ref.id}/close").status_code == 401
    r = client.post(f"/api/admin/referendums/{ref.id}/close", headers=auth)
    assert r.status_code == 200 and r.json()["stage"] == "decided"
    res = client.get(f"/api/referendums/{ref.id}/results").json()
    assert res["counts"]["lewis"]["status"]["yes"] == 1
    assert res["counted"]["lewis"] == 1
    # After the close, a ballot is refused with a 4xx.
    _, late, _ = _ballot(client, ref.id, v, CHOICES)
    r = client.post(
        f"/api/referendums/{ref.id}/ballots", json=late.to_json(), headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 422 and "closed" in r.json()["detail"]


def test_security_headers(server: Any) -> None:
    client, ref, _, _ = server
    r = client.get(f"/api/referendums/{ref.id}")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-frame-options"] == "DENY"


def test_pages_show_witnessing_and_observers(server: Any) -> None:
    client, ref, _, token = server
    page = client.get(f"/r/{ref.id}").text
    assert "Unwitnessed" in page  # the server demo declares no witnesses: said plainly
    assert "jurisdictions" in page  # the built-in referendum's jurisdiction rule is shown
    client.post(
        f"/api/admin/referendums/{ref.id}/close", headers={"Authorization": f"Bearer {token}"}
    )
    results = client.get(f"/r/{ref.id}/results").text
    assert "independent observer(s) declared in the referendum file verified" in results
    assert "Disputes posted: 0" in results


def test_security_headers_on_every_response(server: Any) -> None:
    client, ref, _, _ = server
    for path in ("/", f"/api/referendums/{ref.id}", "/api/no-such-thing"):
        r = client.get(path)
        assert "script-src 'self'" in r.headers["content-security-policy"], path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"


def test_the_board_signs_a_checkpoint_every_minute_while_voting_is_open(tmp_path: Path) -> None:
    import threading
    import time
    from datetime import UTC, datetime, timedelta

    from plebiscite.election.clock import SimulatedClock
    from plebiscite.record.entries import format_time
    from plebiscite.server.app import _scheduler

    clock = SimulatedClock(datetime.now(UTC))
    registry = Registry(tmp_path / "d", clock)
    ref, _ = create_demo(registry, builtin_manifest(), 1)
    board = ref.org.board
    assert ref.org.has("open")

    def tick(seconds: float) -> int:
        """Move the board's clock, let the scheduler run a few rounds; new checkpoints."""
        before = len(board.checkpoints())
        clock.advance(timedelta(seconds=seconds))
        stop = threading.Event()
        worker = threading.Thread(target=_scheduler, args=(registry, stop, 0.02))
        worker.start()
        time.sleep(0.3)
        stop.set()
        worker.join()
        return len(board.checkpoints()) - before

    size = board.size
    assert tick(30) == 0  # the latest is half a minute old: nothing to do
    assert tick(31) == 1  # a minute old: a fresh one, same size, signed now
    latest = board.latest_checkpoint()
    assert latest is not None and latest.size == size and latest.time == format_time(clock.now())
    assert tick(0) == 0
    ref.org.close()
    assert tick(120) == 0  # voting closed: no more
    registry.close()


def test_demo_server_refuses_a_witness_quorum_it_cannot_meet(tmp_path: Path) -> None:
    """The demo server plays every role but holds none of the declared observers' keys:
    a referendum file with a witness quorum could never get a witnessed close, so its
    guardians could never decrypt. It is refused at once, in one line."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from plebiscite.election.organiser import OrganiserError
    from plebiscite.record.entries import key_to_b64

    raw = builtin_manifest()
    raw["observers"] = [
        {
            "id": f"o{n}",
            "name": f"O{n}",
            "kind": "NGO",
            "jurisdiction": "NO",
            "public_key": key_to_b64(Ed25519PrivateKey.generate()),
        }
        for n in (1, 2, 3)
    ]
    raw["witness_quorum"] = 2
    registry = Registry(tmp_path / "data")
    try:
        with pytest.raises(OrganiserError, match="witness quorum could never be met"):
            create_demo(registry, raw, 2)
        assert not registry.referendums
    finally:
        registry.close()


def test_the_cli_client_builds_once_more_on_a_stale_answer(server: Any) -> None:
    """``Client.cast_on_head`` (what ``plebiscite vote`` casts with) reads the head; when
    the board answers 409 stale it signs the same ballot on the head named and posts it
    once more (same tracking code); a second stale answer is an error, not a loop."""
    from plebiscite.client import Client, ClientError
    from plebiscite.election.booth import signed_on

    http, ref, voters, _ = server
    rid = ref.id
    v = next(x for x in voters if x["region"] == "mainland")
    eid = http.get(f"/api/referendums/{rid}").json()["election_id"]
    key = credential_key(eid, v["credential"])
    pub = public_credential(eid, v["credential"])
    client = Client("http://testserver")
    client.http = http  # the in-process app
    csrf = _signin(http, rid, v["code"])
    b1, _, _ = _ballot(http, rid, v, CHOICES)
    first, sub = client.cast_on_head(rid, pub, signed_on(b1, eid, key), csrf)
    assert sub["data"]["replaces"] is None and first["tracking_code"] == b1.tracking_code

    # the head read before the first ballot arrived (another device voted in between)
    heads = iter([{"tracking_code": None, "index": None}])
    client.head = lambda rid, pub: next(heads)  # type: ignore[method-assign]
    b2, _, _ = _ballot(http, rid, v, {"status": ["no"], "capital": ["kirkwall"]})
    posted: list[Any] = []

    def signed(head: str | None) -> dict[str, Any]:
        posted.append(head)
        return signed_on(b2, eid, key)(head)

    second, sub = client.cast_on_head(rid, pub, signed, csrf)
    assert posted == [None, b1.tracking_code]
    assert second["tracking_code"] == b2.tracking_code and second["index"] > first["index"]
    assert sub["data"]["replaces"] == b1.tracking_code

    # told a head that moves on again: one rebuild only, then the 409 is the answer
    del client.head
    b3, _, _ = _ballot(http, rid, v, CHOICES)
    size = ref.org.size
    with pytest.raises(ClientError, match="409 stale"):
        client.cast_on_head(rid, pub, lambda head: signed_on(b3, eid, key)(b1.tracking_code), csrf)
    assert ref.org.size == size
