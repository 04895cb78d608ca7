"""The witnesses' check (V22): cosignatures, and timely quorums on the open, the close
and the final checkpoint."""

from __future__ import annotations

from plebiscite.board.checkpoint import Checkpoint
from plebiscite.board.cosign import Cosignature, trusted_by, verify_cosignature
from plebiscite.record.canonical import CanonicalError, canonical_bytes, loads
from plebiscite.record.manifest import (
    max_skew_s,
    quorum_witnesses,
    witness_keys,
    witness_quorum,
)
from plebiscite.verify.report import (
    CannotRun,
    NotApplicable,
)
from plebiscite.verify.state import CheckHost


class WitnessChecks(CheckHost):
    # V22 -------------------------------------------------------------------------------
    def witnesses(self) -> dict[str, str]:
        s = self.s
        accredited = [e.data.get("observer") for _, e in s.of_type("observer_accreditation")]
        return witness_keys(s.need_manifest(), accredited)

    def check_v22(self) -> list[str] | None:
        s = self.s
        m = s.need_manifest()
        quorum = witness_quorum(m)
        if quorum == 0:
            raise NotApplicable("unwitnessed: the referendum file sets no witness quorum")
        final = getattr(self, "_final", None)
        if final is None:
            raise CannotRun("no readable checkpoint (V02)")
        witnesses = self.witnesses()
        problems, cosigs = [], []
        for n, line in enumerate(s.raw.cosignatures):
            try:
                obj = loads(line)
                cs = Cosignature.from_json(obj)
                canonical = canonical_bytes(obj)  # raises for a lone surrogate
            except (ValueError, CanonicalError) as exc:
                problems.append(f"cosignature {n}: {exc}")
                continue
            if canonical != line:  # record format 17: one spelling per line
                problems.append(f"cosignature {n}: not in canonical form")
                continue
            if witnesses.get(cs.witness) != cs.key:
                problems.append(f"cosignature {n}: {cs.witness!r} is not a witness here")
            elif not verify_cosignature(cs):
                problems.append(f"cosignature {n}: invalid signature by {cs.witness}")
            elif not any(cs.about(cp) for cp in self._checkpoints):
                problems.append(
                    f"cosignature {n}: {cs.witness} cosigned a checkpoint (size"
                    f" {cs.checkpoint.size}) that is not in this record: the board may have"
                    " shown another history"
                )
            cosigs.append(cs)
        # The first checkpoints after the open and after the close need a quorum of
        # timely cosignatures: witnesses whose own clocks agreed (within max_skew_s) that
        # the board signed them when it says, so the window's edges are witnessed in time.
        skew = max_skew_s(m)
        targets: list[tuple[str, Checkpoint, int | None]] = []
        for kind in ("open", "close"):
            found = s.of_type(kind)
            if not found:
                continue
            cp = next((c for c in self._checkpoints if c.size > found[0][0]), None)
            if cp is None:
                problems.append(f"no checkpoint covers the {kind} entry")
            else:
                targets.append((f"first checkpoint after the {kind}", cp, skew))
        targets.append(("final checkpoint", final, None))
        # Only the witnesses the referendum file declares count toward the quorum: the
        # organiser controls accreditations, and could show each branch of a split view
        # its own accredited witnesses (a majority of a fixed set cannot be split).
        declared = quorum_witnesses(m)
        for name, cp, within in targets:
            got = trusted_by(cp, cosigs, declared, within)
            if len(got) < quorum:
                timely = "" if within is None else f" timely (within max_skew_s {within} s)"
                problems.append(
                    f"the {name} (size {cp.size}) has {len(got)} of the {quorum}{timely}"
                    " cosignatures it needs from the witnesses the referendum file declares"
                )
        return problems
