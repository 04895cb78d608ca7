"""The tally's checks: decryption shares, the result, the challenged ballots (V18-V20)."""

from __future__ import annotations

from plebiscite.crypto import threshold
from plebiscite.record import codec
from plebiscite.record.canonical import json_equal
from plebiscite.record.entries import EntryError
from plebiscite.record.vocab import (
    decryption_share_problems,
    parse_decryption_share,
)
from plebiscite.verify.ballots import (
    BallotContext,
    check_challenged,
)
from plebiscite.verify.report import CannotRun
from plebiscite.verify.state import CheckHost


class TallyChecks(CheckHost):
    # V18 -------------------------------------------------------------------------------
    def check_v18(self) -> list[str] | None:
        s, problems = self.s, []
        m, g = s.need_manifest(), s.need_group()
        ctx, _ = s.need_context()
        self._good_shares = {}
        if not s.of_type("decryption_share") and not s.of_type("result"):
            return None  # not decrypted yet
        if s.tally is None or s.tally_index is None:
            raise CannotRun("no valid tally (V17)")
        for i, e in s.of_type("decryption_share"):
            if not json_equal(e.data.get("tally_index"), s.tally_index):
                problems.append(f"entry {i}: not about the tally")
                continue
            try:
                ds = parse_decryption_share(g, m, e.data, s.tally)
            except (EntryError, TypeError, ValueError) as exc:
                problems.append(f"entry {i}: {exc}")
                continue
            gid = ds.guardian
            vk = s.verification_keys.get(gid)
            if vk is None:
                problems.append(f"entry {i}: {gid!r} has no verified key share (V08)")
                continue
            if gid in self._good_shares:
                problems.append(f"entry {i}: a second share set from {gid}")
                continue
            found = decryption_share_problems(g, ctx, vk, ds, s.tally)
            problems += [f"entry {i}: {p}" for p in found]
            if not found:
                self._good_shares[gid] = e.data["shares"]
        if len(self._good_shares) < m.quorum:
            problems.append(f"{len(self._good_shares)} valid share sets, the quorum is {m.quorum}")
        return problems

    # V19 -------------------------------------------------------------------------------
    def check_v19(self) -> list[str] | None:
        s = self.s
        m, g = s.need_manifest(), s.need_group()
        res = s.of_type("result")
        if not res:
            return None  # no result published yet
        if len(res) != 1:
            return [f"{len(res)} result entries"]
        if s.tally is None:
            raise CannotRun("no valid tally (V17)")
        d = res[0][1].data
        if set(d) != {"tally_index", "guardians", "counts"} or not json_equal(
            d["tally_index"], s.tally_index
        ):
            return ["the result is malformed or not about the tally"]
        used = d["guardians"]
        good = getattr(self, "_good_shares", {})
        if (
            not isinstance(used, list)
            or not all(isinstance(u, str) for u in used)
            or len(set(used)) != len(used)
            or len(used) < m.quorum
        ):
            return ["the result must name at least a quorum of distinct guardians"]
        if any(u not in good for u in used):
            return ["the result uses guardians without valid shares (V18)"]
        present = [s.indices[u] for u in used]
        lam = {u: threshold.lagrange_at_zero(g, s.indices[u], present) for u in used}
        counts = d["counts"]
        expected_shape = {r: {q: set(sl) for q, sl in qs.items()} for r, qs in s.tally.items()}
        try:
            shape = {r: {q: set(sl.keys()) for q, sl in qs.items()} for r, qs in counts.items()}
        except AttributeError:
            return ["result counts are malformed"]
        if shape != expected_shape:
            return ["result counts do not cover exactly the tally's regions, questions, options"]
        problems = []
        for r, qs in s.tally.items():
            for qid, slots in qs.items():
                for slot, ct in slots.items():
                    n = counts[r][qid][slot]
                    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                        problems.append(f"{r}/{qid}/{slot}: count is not a natural number")
                        continue
                    dd = g.prod(
                        g.pow(codec.element(g, good[u][r][qid][slot]["share"]), lam[u])
                        for u in used
                    )
                    if g.div(ct.beta, dd) != g.g_pow(n):
                        problems.append(f"{r}/{qid}/{slot}: {n} is not the decryption of the tally")
        if not problems:
            s.results = counts
        return problems

    # V20 -------------------------------------------------------------------------------
    def check_v20(self) -> list[str] | None:
        s = self.s
        items = s.of_type("challenged_ballot")
        if not items:
            return None
        m, g = s.need_manifest(), s.need_group()
        ctx, jk = s.need_context()
        bctx = BallotContext(g.name, m.raw, ctx.hex(), jk.hex())
        problems = []
        for i, e in items:
            msg = check_challenged(bctx, i, e.data)
            if msg:
                problems.append(f"entry {i}: {msg}")
        return problems
