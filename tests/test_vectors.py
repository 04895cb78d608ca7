"""The Python implementation against the shared known-answer vectors.

The vector files (``tests/vectors/crypto-<group>.json``, ``tests/vectors/protocol.json``,
``tests/vectors/cosignatures.json``) are plain JSON that the JavaScript booth must also
pass; this module checks that the Python crypto core, protocol layer and cosignatures
reproduce every value and every verdict in them,
and that the files are exactly what ``tests/vectors/generate.py`` writes.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from plebiscite.board.checkpoint import Checkpoint
from plebiscite.board.cosign import Cosignature, cosigned_message, trusted_by, verify_cosignature
from plebiscite.crypto import constants, threshold
from plebiscite.crypto.elgamal import (
    Ciphertext,
    combine,
    decrypt_with_secret,
    encrypt,
    identity_ciphertext,
    open_with_nonce,
)
from plebiscite.crypto.group import GROUP_NAMES, Element, Group, GroupError, get_group
from plebiscite.crypto.hashing import Part, challenge, encode_part, hash_parts
from plebiscite.crypto.proofs import (
    prove_equality,
    prove_range,
    prove_schnorr,
    verify_equality,
    verify_range,
    verify_schnorr,
)
from plebiscite.election.credentials import is_well_formed, public_credential
from plebiscite.record import codec, protocol
from plebiscite.record.canonical import CanonicalError, canonical_bytes
from plebiscite.record.entries import EntryError
from plebiscite.record.manifest import Question

VECTOR_DIR = Path(__file__).parent / "vectors"


def _load(name: str) -> Any:
    return json.loads((VECTOR_DIR / name).read_text(encoding="utf-8"))


CRYPTO: dict[str, Any] = {name: _load(f"crypto-{name}.json") for name in GROUP_NAMES}
PROTOCOL: Any = _load("protocol.json")
COSIGNATURES: Any = _load("cosignatures.json")
FILES = [f"crypto-{n}.json" for n in GROUP_NAMES] + ["protocol.json", "cosignatures.json"]


# --------------------------------------------------------------------------- helpers


def el(group: Group, text: str) -> Element:
    return group.element_from_hex(text)


def sc(text: str) -> int:
    assert len(text) == 64
    return int(text, 16)


def part(group: Group, d: dict[str, Any]) -> Part:
    ((kind, value),) = d.items()
    if kind == "element":
        return el(group, value)
    if kind == "int":
        return int(value)
    if kind == "string":
        assert isinstance(value, str)
        return value
    if kind == "bytes":
        return bytes.fromhex(value)
    assert kind == "list"
    return [part(group, x) for x in value]


def ct(group: Group, d: dict[str, str]) -> Ciphertext:
    return codec.ct_from_json(group, d)


@contextmanager
def scripted_draws(group: Group, draws: list[int]) -> Iterator[None]:
    """Make the group's random scalars return ``draws`` in order (prover replay)."""
    it = iter(draws)
    group.random_scalar = lambda: next(it)  # type: ignore[method-assign]
    try:
        yield
    finally:
        del group.random_scalar
    assert next(it, None) is None, "the prover drew fewer scalars than recorded"


def groups() -> list[Any]:
    return [pytest.param(name, id=name) for name in GROUP_NAMES]


def cases(section: str, key: str | None = None) -> list[Any]:
    out = []
    for name in GROUP_NAMES:
        items = CRYPTO[name][section] if key is None else CRYPTO[name][section][key]
        for i, c in enumerate(items):
            out.append(pytest.param(name, c, id=f"{name}-{i}-{c.get('name', '')}"))
    return out


# --------------------------------------------------------------------------- files


def test_vector_files_are_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("vectors_generate", VECTOR_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    built = gen.build()
    assert sorted(built) == sorted(FILES)
    for fname, text in built.items():
        assert (VECTOR_DIR / fname).read_text(encoding="utf-8") == text, f"{fname} is stale"


def test_vector_files_are_plain_ascii_json() -> None:
    for name in FILES:
        raw = (VECTOR_DIR / name).read_bytes()
        raw.decode("ascii")
        json.loads(raw)


# --------------------------------------------------------------------------- group


@pytest.mark.parametrize("name", groups())
def test_group_parameters(name: str) -> None:
    v = CRYPTO[name]["group"]
    g = get_group(name)
    assert v["name"] == g.name == name
    assert sc(v["q"]) == g.q
    assert v["element_bytes"] == g.element_bytes
    assert v["scalar_bytes"] == 32
    assert v["generator"] == g.generator().hex()
    assert v["identity"] == g.identity().hex()
    if name == "ristretto255":
        assert "p" not in v
        assert v["identity"] == "00" * 32
    else:
        p, q, gen = {
            "modp-4096": (constants.MODP4096_P, constants.MODP4096_Q, constants.MODP4096_G),
            "belenios-2048": (
                constants.BELENIOS2048_P,
                constants.BELENIOS2048_Q,
                constants.BELENIOS2048_G,
            ),
        }[name]
        assert int(v["p"], 16) == p and len(v["p"]) == 2 * g.element_bytes
        assert sc(v["q"]) == q
        assert int(v["generator"], 16) == gen
        assert int(v["identity"], 16) == 1


@pytest.mark.parametrize("name", groups())
def test_g_pow(name: str) -> None:
    g = get_group(name)
    for c in CRYPTO[name]["arithmetic"]["g_pow"]:
        k = sc(c["k"])
        assert g.g_pow(k).hex() == c["element"]
        assert g.g_pow_secret(k).hex() == c["element"]
        assert g.pow(g.generator(), k).hex() == c["element"]
        assert el(g, c["element"]).hex() == c["element"]


@pytest.mark.parametrize("name", groups())
def test_pow(name: str) -> None:
    g = get_group(name)
    for c in CRYPTO[name]["arithmetic"]["pow"]:
        base, k = el(g, c["base"]), sc(c["k"])
        assert g.pow(base, k).hex() == c["element"]
        assert g.pow_secret(base, k).hex() == c["element"]
        assert (base**k).hex() == c["element"]


@pytest.mark.parametrize("name", groups())
def test_mul_div(name: str) -> None:
    g = get_group(name)
    for c in CRYPTO[name]["arithmetic"]["mul_div"]:
        a, b = el(g, c["a"]), el(g, c["b"])
        assert (a * b).hex() == c["product"]
        assert (a / b).hex() == c["quotient"]
        assert g.prod([a, b]).hex() == c["product"]


@pytest.mark.parametrize("name", groups())
def test_dlog(name: str) -> None:
    g = get_group(name)
    for c in CRYPTO[name]["arithmetic"]["dlog"]:
        assert g.dlog(el(g, c["element"]), c["bound"]) == c["result"]
    for c in CRYPTO[name]["arithmetic"]["dlog_failures"]:
        with pytest.raises(GroupError):
            g.dlog(el(g, c["element"]), c["bound"])


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("name", groups())
def test_valid_encodings(name: str) -> None:
    g = get_group(name)
    enc = CRYPTO[name]["encoding"]
    for h in enc["valid_elements"]:
        e = g.decode_element(bytes.fromhex(h))
        assert e.to_bytes() == bytes.fromhex(h)
        assert codec.element(g, h).hex() == h
    for h in enc["valid_scalars"]:
        v = g.decode_scalar(bytes.fromhex(h))
        assert g.encode_scalar(v).hex() == h
        assert codec.scalar(g, h) == v


def _invalid_element_params() -> list[Any]:
    out = []
    for name in GROUP_NAMES:
        for i, c in enumerate(CRYPTO[name]["encoding"]["invalid_elements"]):
            out.append(pytest.param(name, c, id=f"{name}-{i}-{c['reason']}"))
    return out


@pytest.mark.parametrize(("name", "case"), _invalid_element_params())
def test_invalid_element(name: str, case: dict[str, str]) -> None:
    g = get_group(name)
    with pytest.raises(GroupError):
        g.decode_element(bytes.fromhex(case["hex"]))
    with pytest.raises(GroupError):
        g.element_from_hex(case["hex"])
    with pytest.raises(EntryError):
        codec.element(g, case["hex"])


@pytest.mark.parametrize("name", groups())
def test_invalid_scalars_and_text(name: str) -> None:
    g = get_group(name)
    enc = CRYPTO[name]["encoding"]
    for c in enc["invalid_scalars"]:
        with pytest.raises(GroupError):
            g.decode_scalar(bytes.fromhex(c["hex"]))
        with pytest.raises(GroupError):
            g.scalar_from_hex(c["hex"])
        with pytest.raises(EntryError):
            codec.scalar(g, c["hex"])
    for c in enc["invalid_element_text"]:
        with pytest.raises(EntryError):
            codec.element(g, c["text"])
    for c in enc["invalid_scalar_text"]:
        with pytest.raises(EntryError):
            codec.scalar(g, c["text"])


# --------------------------------------------------------------------------- hashing


@pytest.mark.parametrize("name", groups())
def test_encode_part(name: str) -> None:
    g = get_group(name)
    for c in CRYPTO[name]["hashing"]["encode_part"]:
        assert encode_part(part(g, c["part"])).hex() == c["encoding"]


@pytest.mark.parametrize("name", groups())
def test_hash_parts(name: str) -> None:
    g = get_group(name)
    for c in CRYPTO[name]["hashing"]["hash_parts"]:
        parts = [part(g, p) for p in c["parts"]]
        data = encode_part(c["tag"]) + b"".join(encode_part(p) for p in parts)
        assert data.hex() == c["input"]
        assert hashlib.sha256(data).hexdigest() == c["digest"]
        assert hash_parts(c["tag"], *parts).hex() == c["digest"]


@pytest.mark.parametrize("name", groups())
def test_challenge(name: str) -> None:
    g = get_group(name)
    for c in CRYPTO[name]["hashing"]["challenge"]:
        parts = [part(g, p) for p in c["parts"]]
        context = bytes.fromhex(c["context"])
        data = (
            encode_part(c["tag"]) + encode_part(context) + b"".join(encode_part(p) for p in parts)
        )
        assert data.hex() == c["input"]
        assert hashlib.sha512(data).hexdigest() == c["sha512"]
        assert int(c["sha512"], 16) % g.q == sc(c["challenge"])
        assert challenge(g, c["tag"], context, *parts) == sc(c["challenge"])


# --------------------------------------------------------------------------- elgamal


@pytest.mark.parametrize("name", groups())
def test_elgamal(name: str) -> None:
    g = get_group(name)
    v = CRYPTO[name]["elgamal"]
    secret = sc(v["secret"])
    key = el(g, v["key"])
    assert g.g_pow(secret) == key
    cts = []
    for c in v["encryptions"]:
        expected = ct(g, c["ciphertext"])
        got = encrypt(g, key, c["message"], sc(c["nonce"]))
        assert codec.ct_to_json(got) == c["ciphertext"]
        assert decrypt_with_secret(g, secret, expected, 100) == c["message"]
        assert open_with_nonce(g, key, expected, sc(c["nonce"]), 100) == c["message"]
        cts.append(expected)
    total = combine(g, cts)
    assert codec.ct_to_json(total) == v["sum"]["ciphertext"]
    assert decrypt_with_secret(g, secret, total, 1000) == v["sum"]["message"]
    assert codec.ct_to_json(identity_ciphertext(g)) == v["identity_ciphertext"]


# --------------------------------------------------------------------------- proofs


def _check_challenge(g: Group, case: dict[str, Any], parts: list[Part]) -> None:
    context = bytes.fromhex(case["context"])
    assert challenge(g, case["tag"], context, *parts) == sc(case["challenge"])
    if "challenge_input" in case:
        data = bytes.fromhex(case["challenge_input"])
        expected = encode_part(case["tag"]) + encode_part(context)
        expected += b"".join(encode_part(p) for p in parts)
        assert data == expected
        assert int.from_bytes(hashlib.sha512(data).digest(), "big") % g.q == sc(case["challenge"])


@pytest.mark.parametrize(("name", "case"), cases("schnorr"))
def test_schnorr(name: str, case: dict[str, Any]) -> None:
    g = get_group(name)
    public = el(g, case["public"])
    bind = part(g, case["bind"])
    try:
        proof = codec.schnorr_from_json(g, case["proof"])
    except EntryError:  # an encoding refused on the way in: a valid proof never is
        assert not case["valid"]
        return
    assert codec.schnorr_to_json(g, proof) == case["proof"]
    context = bytes.fromhex(case["context"])
    assert verify_schnorr(g, case["tag"], context, public, proof, bind) is case["valid"]
    _check_challenge(g, case, [g.generator(), public, bind, proof.commitment])
    if "prover" in case:
        secret = sc(case["prover"]["secret"])
        assert g.g_pow(secret) == public
        with scripted_draws(g, [sc(case["prover"]["w"])]):
            again = prove_schnorr(g, case["tag"], context, secret, public, bind)
        assert again == proof


@pytest.mark.parametrize(("name", "case"), cases("equality"))
def test_equality(name: str, case: dict[str, Any]) -> None:
    g = get_group(name)
    g1, x1, g2, x2 = (el(g, case[k]) for k in ("g1", "x1", "g2", "x2"))
    bind = part(g, case["bind"])
    try:
        proof = codec.equality_from_json(g, case["proof"])
    except EntryError:  # an encoding refused on the way in: a valid proof never is
        assert not case["valid"]
        return
    assert codec.equality_to_json(g, proof) == case["proof"]
    context = bytes.fromhex(case["context"])
    verdict = verify_equality(g, case["tag"], context, g1, x1, g2, x2, proof, bind)
    assert verdict is case["valid"]
    _check_challenge(g, case, [g1, x1, g2, x2, bind, proof.a, proof.b])
    if "prover" in case:
        secret = sc(case["prover"]["secret"])
        with scripted_draws(g, [sc(case["prover"]["w"])]):
            again = prove_equality(g, case["tag"], context, secret, g1, x1, g2, x2, bind)
        assert again == proof


@pytest.mark.parametrize(("name", "case"), cases("range", "cases"))
def test_range(name: str, case: dict[str, Any]) -> None:
    g = get_group(name)
    key = el(g, case["key"])
    c = ct(g, case["ciphertext"])
    bind = part(g, case["bind"])
    try:
        proof = codec.range_from_json(g, case["proof"])
    except EntryError:  # an encoding refused on the way in: a valid proof never is
        assert not case["valid"]
        return
    assert codec.range_to_json(g, proof) == case["proof"]
    context = bytes.fromhex(case["context"])
    values = case["values"]
    assert verify_range(g, case["tag"], context, key, c, proof, values, bind) is case["valid"]
    commitments: list[Part] = []
    for br in proof.branches:
        commitments += [br.a, br.b]
    _check_challenge(g, case, [g.generator(), key, c.alpha, c.beta, values, bind, commitments])
    if "prover" in case:
        pv = case["prover"]
        nonce, m = sc(pv["nonce"]), pv["message"]
        assert codec.ct_to_json(encrypt(g, key, m, nonce)) == case["ciphertext"]
        assert values.index(m) == pv["real_branch"]
        real = proof.branches[pv["real_branch"]]
        assert (real.response + real.challenge * nonce) % g.q == sc(pv["w"])
        with scripted_draws(g, [sc(x) for x in pv["draws"]]):
            again = prove_range(g, case["tag"], context, key, c, nonce, m, values, bind)
        assert again == proof


@pytest.mark.parametrize("name", groups())
def test_range_key(name: str) -> None:
    g = get_group(name)
    v = CRYPTO[name]["range"]
    assert g.g_pow(sc(v["secret"])).hex() == v["key"]
    valid = [c for c in v["cases"] if c["valid"]]
    invalid = [c for c in v["cases"] if not c["valid"]]
    assert len(valid) >= 8 and len(invalid) >= 20


# --------------------------------------------------------------------------- threshold


@pytest.mark.parametrize("name", groups())
def test_threshold(name: str) -> None:
    g = get_group(name)
    v = CRYPTO[name]["threshold"]
    all_commitments = []
    for poly in v["polynomials"]:
        coeffs = [sc(a) for a in poly["coefficients"]]
        assert len(coeffs) == v["quorum"]
        cs = threshold.commit(g, coeffs)
        assert [x.hex() for x in cs] == poly["commitments"]
        all_commitments.append(cs)
        for e in poly["evaluations"]:
            assert threshold.evaluate(g, coeffs, e["x"]) == sc(e["value"])
            assert threshold.commitment_at(g, cs, e["x"]).hex() == e["commitment_at"]
            assert threshold.share_is_valid(g, cs, e["x"], sc(e["value"]))
    for bad in v["invalid_shares"]:
        cs = all_commitments[bad["guardian"] - 1]
        assert not threshold.share_is_valid(g, cs, bad["x"], sc(bad["share"]))
    assert threshold.joint_key(g, all_commitments).hex() == v["joint_key"]
    assert g.g_pow(sc(v["joint_secret"])).hex() == v["joint_key"]
    shares = {}
    for s in v["shares"]:
        shares[s["x"]] = sc(s["share"])
        expected = sum(sc(p["evaluations"][s["x"]]["value"]) for p in v["polynomials"]) % g.q
        assert shares[s["x"]] == expected
        vk = threshold.verification_key(g, all_commitments, s["x"])
        assert vk.hex() == s["verification_key"] == g.g_pow(shares[s["x"]]).hex()
    for lg in v["lagrange_at_zero"]:
        present = lg["present"]
        coeffs = [threshold.lagrange_at_zero(g, j, present) for j in present]
        assert coeffs == [sc(x) for x in lg["coefficients"]]
        total = sum(lam * shares[j] for lam, j in zip(coeffs, present, strict=True)) % g.q
        assert total == sc(lg["recombined"]) == sc(v["joint_secret"])
    d = v["decryption"]
    c = ct(g, d["ciphertext"])
    present = d["present"]
    partials = {p["x"]: el(g, p["partial"]) for p in d["partials"]}
    for j in present:
        assert g.pow(c.alpha, shares[j]) == partials[j]
    mask = g.prod(g.pow(partials[j], threshold.lagrange_at_zero(g, j, present)) for j in present)
    assert mask.hex() == d["combined_partial"]
    assert g.div(c.beta, mask).hex() == d["g_pow_message"]
    assert g.dlog(g.div(c.beta, mask), 100) == d["message"]


# --------------------------------------------------------------------------- protocol


def _canonical_params() -> list[Any]:
    out = []
    for i, c in enumerate(PROTOCOL["canonical_json"]):
        out.append(pytest.param(c, id=f"{i}-{c['canonical'][:24]}"))
    return out


@pytest.mark.parametrize("case", _canonical_params())
def test_canonical_json(case: dict[str, Any]) -> None:
    assert canonical_bytes(case["value"]).hex() == case["canonical_hex"]
    assert case["canonical"].encode("utf-8").hex() == case["canonical_hex"]
    # The canonical form is a fixed point.
    assert canonical_bytes(json.loads(case["canonical"])).hex() == case["canonical_hex"]


def test_canonical_json_invalid() -> None:
    for value in PROTOCOL["canonical_json_invalid"]:
        with pytest.raises(CanonicalError):
            canonical_bytes(value)


def test_tags_and_binds() -> None:
    tags = PROTOCOL["tags"]
    assert tags == {
        "coefficient": protocol.TAG_COEFFICIENT,
        "share_key": protocol.TAG_SHARE_KEY,
        "option": protocol.TAG_OPTION,
        "question": protocol.TAG_QUESTION,
        "decryption": protocol.TAG_DECRYPTION,
        "context": protocol.TAG_CONTEXT,
        "tracking": protocol.TAG_TRACKING,
        "credential": protocol.TAG_CREDENTIAL,
        "share_encryption": protocol.TAG_SHARE_ENC,
    }
    for b in PROTOCOL["binds"]:
        fn = getattr(protocol, b["function"])
        assert encode_part(fn(*b["args"])).hex() == b["encoding"]


def test_guardian_key_proofs_bind_every_field() -> None:
    """The coefficient proofs of a guardian_key entry bind its X25519 key and every
    commitment: swapping either under the proofs makes them fail."""
    from plebiscite.record.manifest import parse_manifest
    from plebiscite.record.vocab import guardian_key_problems, parse_guardian_key

    cases = PROTOCOL["guardian_key"]
    assert {c["group"] for c in cases} == set(GROUP_NAMES)
    assert {c.get("swapped") for c in cases} == {None, "encryption_key", "commitments"}
    for c in cases:
        g = get_group(c["group"])
        m = parse_manifest(
            {
                "title": "t",
                "group": c["group"],
                "questions": [{"id": "q", "text": "q", "options": ["a"]}],
                "regions": [{"id": "r", "name": "r", "questions": ["q"]}],
                "opens": "2027-01-01T00:00:00Z",
                "closes": "2027-01-02T00:00:00Z",
                "guardians": {
                    "count": len(c["guardians"]),
                    "quorum": c["quorum"],
                    "members": [{"id": x, "name": x} for x in c["guardians"]],
                },
            }
        )
        gk = parse_guardian_key(g, m, c["data"])
        if c["valid"]:
            binds = [
                encode_part(
                    protocol.coefficient_bind(
                        gk.guardian, gk.index, gk.encryption_key, gk.commitments, k
                    )
                ).hex()
                for k in range(len(gk.commitments))
            ]
            assert binds == c["bind_encodings"]
        assert (guardian_key_problems(g, c["election_id"], gk) == []) == c["valid"]


def test_context_hash() -> None:
    assert {c["group"] for c in PROTOCOL["context_hash"]} == set(GROUP_NAMES)
    for c in PROTOCOL["context_hash"]:
        g = get_group(c["group"])
        commitments = [[el(g, x) for x in cs] for cs in c["commitments"]]
        assert len(commitments) == c["guardians"]
        joint = el(g, c["joint_key"])
        got = protocol.context_hash(g, c["election_id"], c["quorum"], commitments, joint)
        assert got.hex() == c["context_hash"]
        assert hashlib.sha256(bytes.fromhex(c["hash_input"])).hexdigest() == c["context_hash"]


def test_tracking_code() -> None:
    for c in PROTOCOL["tracking_code"]:
        g = get_group(c["group"])
        answers = [(a["question"], [ct(g, x) for x in a["ciphertexts"]]) for a in c["answers"]]
        code = protocol.tracking_code(bytes.fromhex(c["context"]), c["region"], answers)
        assert code == c["tracking_code"]
        assert hashlib.sha256(bytes.fromhex(c["hash_input"])).hexdigest() == c["tracking_code"]


def test_revote_chain() -> None:
    v = PROTOCOL["revote_chain"]
    chains = protocol.RevoteChains()
    for b in v["ballots"]:
        cred = b["credential"]
        assert chains.extends(cred, b["replaces"]) is b["extends"]
        assert chains.extend(cred, b["replaces"], b["tracking_code"]) is b["extends"]
    assert {c: chains.head(c) for c in v["heads"]} == v["heads"]
    for c in v["replaces"]:
        assert (c["value"] is None or protocol.is_tracking_code(c["value"])) is c["valid"]


def test_credentials() -> None:
    seeds: dict[tuple[str, str], str] = {}
    for c in PROTOCOL["credentials"]:
        seed = protocol.credential_seed(c["election_id"], c["credential"])
        assert seed.hex() == c["seed"]
        assert hashlib.sha256(bytes.fromhex(c["seed_input"])).hexdigest() == c["seed"]
        expected_input = f"{protocol.TAG_CREDENTIAL}\n{c['election_id']}\n{c['normalised']}"
        assert bytes.fromhex(c["seed_input"]) == expected_input.encode("utf-8")
        assert public_credential(c["election_id"], c["credential"]) == c["public_key"]
        assert len(base64.b64decode(c["public_key"], validate=True)) == 32
        assert is_well_formed(c["credential"]) is c["well_formed"]
        seeds.setdefault((c["election_id"], c["normalised"]), c["seed"])
        assert seeds[(c["election_id"], c["normalised"])] == c["seed"]


def _question(d: dict[str, Any]) -> Question:
    return Question(d["id"], "", tuple(d["options"]), d["min"], d["max"], d["blank"])


def test_question_total() -> None:
    for v in PROTOCOL["question_total"]:
        g = get_group(v["group"])
        q = _question(v["question"])
        assert list(q.slots) == v["slots"]
        assert protocol.question_values(q) == v["values"]
        key = el(g, v["key"])
        for c in v["cases"]:
            cts = [ct(g, x) for x in c["ciphertexts"]]
            for m, r, x in zip(c["messages"], c["nonces"], cts, strict=True):
                assert encrypt(g, key, m, sc(r)) == x
            total = protocol.question_total(g, q, cts)
            assert codec.ct_to_json(total) == c["total"]
            assert protocol.question_total_value(q, c["choices"]) == c["total_value"]
            assert encrypt(g, key, c["total_value"], sc(c["total_nonce"])) == total


def test_valid_selection() -> None:
    v = PROTOCOL["valid_selection"]
    q = _question(v["question"])
    for c in v["cases"]:
        assert protocol.valid_selection(q, c["choices"]) is c["valid"]


# --------------------------------------------------------------------------- cosignatures


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in COSIGNATURES["cases"]])
def test_cosignature(case: dict[str, Any]) -> None:
    try:
        cs = Cosignature.from_json(case["cosignature"])
    except ValueError:
        assert not case["well_formed"] and not case["valid"]
        return
    assert case["well_formed"]
    message = cosigned_message(cs.witness, cs.witness_time, cs.checkpoint)
    assert message.hex() == case["message"]
    assert bytes.fromhex(case["message"]).startswith(COSIGNATURES["header"].encode())
    assert verify_cosignature(cs) is case["valid"]
    assert canonical_bytes(cs.to_json()) == canonical_bytes(case["cosignature"])


def test_cosignature_cases_cover_valid_and_invalid() -> None:
    verdicts = [(c["well_formed"], c["valid"]) for c in COSIGNATURES["cases"]]
    assert verdicts.count((True, True)) >= 2
    assert verdicts.count((True, False)) >= 8 and verdicts.count((False, False)) >= 8


def _witnessed(
    data: list[Any], witnesses: dict[str, str], quorum: int, origin: str | None
) -> dict[str, Any] | None:
    """The largest checkpoint ``quorum`` of ``witnesses`` cosigned, through the board's
    own rule (``trusted_by``), as the browser's witnessedCheckpoint returns it."""
    parsed = []
    for d in data:
        try:
            parsed.append(Cosignature.from_json(d))
        except ValueError:
            continue
    cps: dict[tuple[str, int, bytes, str], Checkpoint] = {}
    for cs in parsed:
        c = cs.checkpoint
        if origin is None or c.origin == origin:
            cps.setdefault((c.origin, c.size, c.root, c.time), c)
    best: tuple[tuple[int, str, bytes], dict[str, Any]] | None = None
    for cp in cps.values():
        by = trusted_by(cp, parsed, witnesses)
        if len(by) < quorum:
            continue
        rank = (cp.size, cp.time, cp.root)
        if best is None or rank > best[0]:
            out = {"origin": cp.origin, "size": cp.size, "root": cp.root.hex(), "time": cp.time}
            best = (rank, {**out, "witnesses": sorted(by)})
    return None if best is None else best[1]


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in COSIGNATURES["witnessed"]])
def test_witnessed_checkpoint(case: dict[str, Any]) -> None:
    got = _witnessed(case["cosignatures"], COSIGNATURES["declared"], case["quorum"], case["origin"])
    assert got == case["witnessed"]
