"""The key ceremony's checks: guardian keys, shares, the joint key and context hash,
the credential lists (V07-V10) and the jurisdiction rules (V21)."""

from __future__ import annotations

from collections import Counter

from plebiscite.crypto import threshold
from plebiscite.record.entries import EntryError
from plebiscite.record.manifest import (
    guardian_ids,
    jurisdiction_problems,
)
from plebiscite.record.protocol import context_hash
from plebiscite.record.vocab import (
    guardian_key_problems,
    guardian_ready_problems,
    parse_credential_list,
    parse_guardian_key,
    parse_guardian_ready,
    parse_guardian_shares,
)
from plebiscite.verify.report import (
    CannotRun,
    NotApplicable,
)
from plebiscite.verify.state import CheckHost


class CeremonyChecks(CheckHost):
    # V07 -------------------------------------------------------------------------------
    def check_v07(self) -> list[str]:
        s, problems = self.s, []
        m, g = s.need_manifest(), s.need_group()
        ids = guardian_ids(m)
        seen: dict[str, int] = {}
        for i, e in s.of_type("guardian_key"):
            try:
                gk = parse_guardian_key(g, m, e.data)
            except (EntryError, TypeError, ValueError) as exc:
                problems.append(f"entry {i}: {exc}")
                continue
            if gk.guardian in seen:
                problems.append(f"entry {i}: repeated guardian {gk.guardian!r}")
                continue
            problems += [f"entry {i}: {p}" for p in guardian_key_problems(g, s.election_id, gk)]
            seen[gk.guardian] = i
            s.commitments[gk.guardian] = list(gk.commitments)
            s.indices[gk.guardian] = gk.index
        missing = [x for x in ids if x not in seen]
        return self._until_posted(problems, [f"no key from guardians {missing}"] if missing else [])

    # V08 -------------------------------------------------------------------------------
    def check_v08(self) -> list[str]:
        s, problems, absent = self.s, list[str](), list[str]()
        m, g = s.need_manifest(), s.need_group()
        ids = guardian_ids(m)
        if set(s.commitments) != set(ids):
            self._pending_after("V07")
            raise CannotRun("guardian keys incomplete (V07)")
        for step, what in (("guardian_shares", "post its shares"), ("guardian_ready", "confirm")):
            posted: Counter[str] = Counter()
            for i, e in s.of_type(step):
                gid = str(e.data.get("guardian"))
                posted[gid] += 1
                try:
                    if step == "guardian_shares":
                        parse_guardian_shares(m, e.data)
                        continue
                    ready = parse_guardian_ready(g, m, e.data)
                except (EntryError, TypeError, ValueError) as exc:
                    problems.append(f"entry {i}: {exc}")
                    continue
                found = guardian_ready_problems(g, s.election_id, m, ready, s.commitments)
                problems += [f"entry {i}: {p}" for p in found]
                if not found and posted[gid] == 1:
                    s.verification_keys[gid] = ready.verification_key
            if any(n > 1 or x not in ids for x, n in posted.items()):
                problems.append(f"every guardian must {what} exactly once")
            elif set(posted) != set(ids):
                absent.append(f"every guardian must {what} exactly once")
        return self._until_posted(problems, absent)

    # V09 -------------------------------------------------------------------------------
    def check_v09(self) -> list[str]:
        s = self.s
        m, g = s.need_manifest(), s.need_group()
        ids = guardian_ids(m)
        if set(s.commitments) != set(ids):
            self._pending_after("V07")
            raise CannotRun("guardian keys incomplete (V07)")
        ctxs = s.of_type("election_context")
        if not ctxs:
            return self._until_posted([], ["0 election_context entries"])
        if len(ctxs) != 1:
            return [f"{len(ctxs)} election_context entries"]
        d = ctxs[0][1].data
        all_cs = [s.commitments[x] for x in ids]
        jk = threshold.joint_key(g, all_cs)
        ch = context_hash(g, s.election_id, m.quorum, all_cs, jk)
        problems = []
        if d != {"joint_key": jk.hex(), "context_hash": ch.hex()}:
            problems.append("posted joint key or context hash differs from the recomputed ones")
        if g.is_identity(jk):
            problems.append("the joint key is the identity")
        s.joint_key, s.context = jk, ch
        return problems

    # V10 -------------------------------------------------------------------------------
    def check_v10(self) -> list[str]:
        s, problems = self.s, []
        m = s.need_manifest()
        everywhere: Counter[str] = Counter()
        for i, e in s.of_type("credential_list"):
            try:
                cl = parse_credential_list(m, e.data)
            except (EntryError, TypeError, ValueError) as exc:
                problems.append(f"entry {i}: {exc}")
                # The later checks still judge ballots against the credentials it lists,
                # so that one broken list fails here only.
                r, creds = e.data.get("region"), e.data.get("credentials")
                if isinstance(r, str) and r in m.regions and isinstance(creds, list):
                    s.credentials.setdefault(r, {c for c in creds if isinstance(c, str)})
                continue
            if cl.region in s.credentials:
                problems.append(f"entry {i}: a second list for region {cl.region!r}")
                continue
            everywhere.update(cl.credentials)
            s.credentials[cl.region] = set(cl.credentials)
        dup = [c for c, n in everywhere.items() if n > 1]
        if dup:
            problems.append(f"{len(dup)} credentials listed in several regions")
        missing = set(m.regions) - set(s.credentials)
        absent = [f"no credential list for regions {sorted(missing)}"] if missing else []
        return self._until_posted(problems, absent)

    # V21 -------------------------------------------------------------------------------
    def check_v21(self) -> list[str] | None:
        m = self.s.need_manifest()
        g = m.raw["guardians"]
        if "min_jurisdictions" not in g and not g.get("organiser_cannot_decrypt"):
            raise NotApplicable("the referendum file sets no jurisdiction rule")
        return jurisdiction_problems(m)
