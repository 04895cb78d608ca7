"""plebiscite's native variable-time ristretto255 library (native/ristretto_vt.c) against
libsodium, and the ristretto255 batch built on it (issue 6)."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ballotlib
from ballotlib import small_election
from plebiscite.crypto import batch as batching
from plebiscite.crypto import native
from plebiscite.crypto.batch import Claims, DeferredRistretto, RistrettoBatch, make_batch
from plebiscite.crypto.group import Element, GroupError, Ristretto255, get_group

pytestmark = pytest.mark.skipif(
    not native.available(), reason="native library not built (make setup builds it)"
)

P = 2**255 - 19


def rg() -> Ristretto255:
    g = get_group("ristretto255")
    assert isinstance(g, Ristretto255)
    return g


def sodium_valid(data: bytes) -> bool:
    """What plebiscite's libsodium-backed group accepts (the reference)."""
    try:
        rg().decode_element(data)
    except GroupError:
        return False
    return True


def point(k: int | None = None) -> Element:
    g = rg()
    return g.g_pow(g.random_scalar() if k is None else k)


def test_constants_are_rfc_9496s() -> None:
    d, sqrt_m1, invsqrt_a_minus_d = native.constants()
    assert d == (-121665 * pow(121666, -1, P)) % P
    assert sqrt_m1 == 19681161376707505956807079304988542015446066515923890162744021073123829784752
    assert invsqrt_a_minus_d == (
        54469307008909316920995813868745141605393597292927456921205312896311721017578
    )


def test_decoding_edge_cases_match_libsodium() -> None:
    g = rg()
    cases: list[bytes] = [bytes(32), g.generator().value, b"\x01" + bytes(31)]
    for v in (P, P + 1, P + 2, P - 1, P - 2, 2**255 - 1, 2**255 - 2):
        cases.append((v % 2**256).to_bytes(32, "little"))
    for k in range(1, 40):
        x = point(k).value
        s = int.from_bytes(x, "little")
        cases.append(x)
        cases.append(((P - s) % P).to_bytes(32, "little"))  # the negative root: odd
        cases.append(x[:31] + bytes([x[31] | 0x80]))  # the top bit
        if s + P < 2**256:
            cases.append((s + P).to_bytes(32, "little"))  # a non-canonical field element
        cases.append(((s + 2) % P).to_bytes(32, "little"))  # mostly not on the curve
    assert sum(sodium_valid(c) for c in cases) > 40
    for c in cases:
        assert native.is_valid(c) == sodium_valid(c), c.hex()


@settings(max_examples=400, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_decoding_random_bytes_matches_libsodium(data: bytes) -> None:
    assert native.is_valid(data) == sodium_valid(data)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2**252 + 27742317777372353535851937790883648492),
            st.one_of(
                st.integers(0, 2**256 - 1),
                st.sampled_from([0, 1, 2, 2**128 - 1, 2**252, 2**256 - 1]),
                st.integers(0, 2**128),
            ),
        ),
        min_size=0,
        max_size=40,
    )
)
def test_msm_matches_libsodium(pairs: list[tuple[int, int]]) -> None:
    g = rg()
    points = [g.g_pow(k) for k, _ in pairs]  # k = 0 gives the identity
    want = g.identity()
    for x, (_, s) in zip(points, pairs, strict=True):
        want = g.mul(want, g.pow(x, s))  # pow reduces s mod q, as the group does
    got = native.msm([x.value for x in points], [s for _, s in pairs])
    assert got == want.value


def test_msm_window_sizes_and_carries() -> None:
    """Scalars whose signed digits carry into an extra window, at sizes that select
    different window widths."""
    g = rg()
    for n in (1, 2, 3, 7, 33, 300):
        pts = [point() for _ in range(n)]
        for scalars in (
            [2 ** min(k, 256) - 1 for k in range(1, n + 1)],
            [2**256 - 1] * n,
            [secrets.randbits(256) for _ in range(n)],
        ):
            want = g.identity()
            for x, s in zip(pts, scalars, strict=True):
                want = g.mul(want, g.pow(x, s))
            assert native.msm([x.value for x in pts], scalars) == want.value


def test_sum_matches_libsodium() -> None:
    g = rg()
    pts = [point() for _ in range(50)] + [g.identity()]
    assert native.sum_points([x.value for x in pts]) == g.prod(pts).value
    assert native.sum_points([]) == bytes(32)
    x = point()
    assert native.sum_points([x.value, g.div(g.identity(), x).value]) == bytes(32)


def test_invalid_points_are_named() -> None:
    bad = (P + 1).to_bytes(32, "little")
    good = point().value
    with pytest.raises(native.NativeError, match="point 2 "):
        native.msm([good, good, bad], [1, 0, 0])  # checked even with a zero scalar
    with pytest.raises(native.NativeError, match="point 1 "):
        native.sum_points([good, bad])
    assert not native.is_identity_sum([bad], [0])
    with pytest.raises(ValueError):
        native.msm([good], [])


# --- the ristretto255 batch ----------------------------------------------------------------


def schnorr_claims(key: Element, n: int) -> list[Claims]:
    return ballotlib.schnorr_claims(rg(), key, n)


def run(key: Element, claims: list[Claims]) -> bool:
    b = make_batch(rg(), fixed=[key])
    assert isinstance(b, RistrettoBatch)
    return all(b.add(cl) for cl in claims) and b.check()


def test_ristretto_batch_accepts_true_claims() -> None:
    key = point()
    assert batching.supports(rg())
    assert run(key, schnorr_claims(key, 6))
    assert run(key, [])
    assert run(key, [Claims()])


def test_ristretto_batch_rejects_any_false_claim() -> None:
    g = rg()
    key = point()
    for where in range(3):
        claims = schnorr_claims(key, 3)
        a, terms = claims[where].equations[1]
        claims[where].equations[1] = (a * g.generator(), terms)  # off by g
        assert not run(key, claims)
        claims = schnorr_claims(key, 3)
        a, terms = claims[where].equations[2]
        claims[where].equations[2] = (a, [(t, e + 1) for t, e in terms])  # wrong exponent
        assert not run(key, claims)
        # a member that is not a canonical encoding, even with no equation over it
        claims = schnorr_claims(key, 3)
        claims[where].member(Element(g, (P + 1).to_bytes(32, "little")))
        assert not run(key, claims)
        # a commitment that is not a valid encoding
        claims = schnorr_claims(key, 3)
        _, terms = claims[where].equations[0]
        claims[where].equations[0] = (Element(g, (P - 2).to_bytes(32, "little")), terms)
        assert not run(key, claims)


def test_ristretto_batch_refuses_unvouched_bases() -> None:
    b = make_batch(rg())
    cl = Claims()
    stranger = point(7)
    cl.equation(stranger**2, [(stranger, 2)])
    with pytest.raises(ValueError):
        b.add(cl)


def test_deferred_ristretto_view_lists_everything_it_lets_through() -> None:
    g = rg()
    view = batching.deferred_view(g)
    assert isinstance(view, DeferredRistretto)
    bad = (P + 1).to_bytes(32, "little")
    x = view.decode_element(bad)  # not checked here: the batch's decode will refuse it
    y = view.decode_element(point().value, member_check=False)
    assert view.pending == [x] and view.commitments == [y]
    with pytest.raises(GroupError):
        view.decode_element(bad[:31] + b"\x80")
    with pytest.raises(GroupError):
        view.decode_element(b"\x00" * 31)
    with pytest.raises(GroupError):
        view.g_pow_secret(3)


@pytest.fixture(scope="module")
def election() -> tuple[Any, list[tuple[int, Any]]]:
    return small_election("ristretto255")


def _scalar_plus(h: str, d: int) -> str:
    return format((int(h, 16) + d) % rg().q, "064x")


def _point_hex(v: int) -> str:
    return (v % 2**256).to_bytes(32, "little").hex()


def _times_g(h: str) -> str:
    g = rg()
    return g.mul(g.decode_element(bytes.fromhex(h)), g.generator()).hex()


def _choice(d: dict[str, Any], a: int, c: int) -> dict[str, Any]:
    out: dict[str, Any] = d["answers"][a]["choices"][c]
    return out


TAMPERS: dict[str, Any] = {
    # equations only (the challenges still hold): only the batch's combination sees these
    "response": lambda d: _choice(d, 0, 0)["proof"][1].update(
        s=_scalar_plus(_choice(d, 0, 0)["proof"][1]["s"], 1)
    ),
    "question-response": lambda d: d["answers"][1]["proof"][0].update(
        s=_scalar_plus(d["answers"][1]["proof"][0]["s"], 3)
    ),
    "shift": lambda d: (
        _choice(d, 0, 1)["proof"][0].update(c=_scalar_plus(_choice(d, 0, 1)["proof"][0]["c"], 5)),
        _choice(d, 0, 1)["proof"][1].update(c=_scalar_plus(_choice(d, 0, 1)["proof"][1]["c"], -5)),
    ),
    # encodings only the native decode checks in a batch
    "commitment-noncanonical": lambda d: _choice(d, 0, 0)["proof"][0].update(a=_point_hex(P + 1)),
    "alpha-noncanonical": lambda d: _choice(d, 0, 0).update(alpha=_point_hex(P + 2)),
    "beta-odd": lambda d: _choice(d, 1, 2).update(
        beta=_point_hex(P - int.from_bytes(bytes.fromhex(_choice(d, 1, 2)["beta"]), "little"))
    ),
    "commitment-times-g": lambda d: _choice(d, 0, 0)["proof"][0].update(
        b=_times_g(_choice(d, 0, 0)["proof"][0]["b"])
    ),
    "tracking": lambda d: d.update(tracking_code="0" * 64),
    "junk": lambda d: _choice(d, 0, 0).update(alpha="zz"),
    "swap": lambda d: d["answers"][0]["choices"].reverse(),
}


@pytest.mark.parametrize("how", sorted(TAMPERS))
def test_ristretto_check_batch_names_the_bad_ballot(
    election: tuple[Any, list[tuple[int, Any]]], how: str
) -> None:
    """A batch with one bad ballot among good ones reports exactly what the exact path
    reports; with the native library off (libsodium only), the same again."""
    import copy

    from plebiscite.verify.ballots import check_ballot_exact, check_batch

    ctx, items = election
    assert check_batch(ctx, items) == []
    for pos in (0, 3):
        bad = copy.deepcopy(items)
        TAMPERS[how](bad[pos][1])
        want = [f for i, d in bad for f in check_ballot_exact(ctx, i, d)]
        assert want and {f.index for f in want} == {bad[pos][0]}
        assert check_batch(ctx, bad) == want
        native.set_enabled(False)
        try:
            assert not batching.supports(rg())
            assert check_batch(ctx, bad) == want
        finally:
            native.set_enabled(True)


def test_only_verifier_code_uses_the_native_library() -> None:
    """The variable-time library must never see a secret: only the batch verifier, the
    verifier's ballot checks and the tally's sums of (public) ciphertexts import it
    (threat-model.md)."""
    from pathlib import Path

    import plebiscite

    root = Path(plebiscite.__file__).parent
    users = {
        str(f.relative_to(root))
        for f in root.rglob("*.py")
        if "crypto import native" in f.read_text() or "crypto.native" in f.read_text()
    }
    # cli.py only asks whether the library is built (to say why verifying is slower)
    assert users == {"crypto/batch.py", "verify/ballots.py", "election/tally.py", "cli.py"}


def test_verify_says_when_it_takes_the_slow_path(record_copy: Any, run_cli: Any) -> None:
    """Without the native library a ristretto255 record still verifies, and the command
    says why it is slower (one line on stderr); with it, or when turned off on purpose
    (PLEBISCITE_NATIVE=0), nothing is said."""
    code, _, err = run_cli("verify", record_copy, "--workers", "1")
    assert code == 0 and "native ristretto255 library" not in err
    native.set_enabled(False)
    try:
        code, out, err = run_cli("verify", record_copy, "--workers", "1", "--json")
    finally:
        native.set_enabled(True)
    assert code == 0, err
    assert "note: the native ristretto255 library is not built" in err
    assert json.loads(out)["summary"]["group"] == "ristretto255"  # stdout is the report only
