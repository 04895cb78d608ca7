"""The verifier's check table: each check's id, title and the ElectionGuard and Belenios
verification steps it maps to."""

from __future__ import annotations

from plebiscite.verify.report import CheckSpec


def _S(id: str, title: str, electionguard: str, belenios: str) -> CheckSpec:
    """``electionguard``: the ElectionGuard 2.1 verification step(s); ``belenios``: the
    Belenios check."""
    return CheckSpec(id, title, (("electionguard_2_1", electionguard), ("belenios", belenios)))


# Mapping: ElectionGuard Design Specification v2.1.0, section 6.2 verification steps;
# the checks `belenios-tool election verify` makes (Belenios 2.x sources).
# fmt: off
CHECKS: list[CheckSpec] = [
    _S("V01", "Entries are well-formed and start with one referendum", "-",
       "fsck; check_rawballot NonCanonical"),
    _S("V02", "Checkpoints are signed by the board and match the entries", "-",
       "archive chain (event hashes)"),
    _S("V03", "The final checkpoint covers every entry", "-", "archive chain (last event)"),
    _S("V04", "The referendum file is valid",
       "1 (parameter validation; 1.B-1.D by group name)", "election.json well-formed"),
    _S("V05", "Every entry is signed by the party that vouches for it", "-",
       "signed ballots, trustee keys"),
    _S("V06", "Entries follow the protocol's order", "-", "-"),
    _S("V07", "Guardian commitments carry valid proofs of knowledge",
       "2 (2.A-2.C guardian public-key validation)",
       "trustee public keys / threshold certificates"),
    _S("V08", "Every guardian distributed shares and proved its key share",
       "- (guardians verify shares, section 3.2.2; cf. Note 3.7)",
       "threshold verification keys (check_pedersen)"),
    _S("V09", "Joint key and context hash recomputed",
       "3, 4 (election public key; extended base hash)", "election public key"),
    _S("V10", "Credential lists: one per region, signed, no duplicates", "-",
       "public credentials and weights"),
    _S("V11", "Ballots are well-formed, with valid group elements",
       "6.A-6.C, 7.A-7.C (membership, ranges)", "canonical ballots"),
    _S("V12", "Ballots use listed credentials of their region", "-", "ballot credential in list"),
    _S("V13", "Ballot proofs: each option 0 or 1, each question in min..max",
       "6, 7 (well-formedness of selection encryptions; adherence to vote limits)",
       "individual and overall proofs"),
    _S("V14", "Tracking codes match and never repeat", "8, 5.A (confirmation codes; uniqueness)",
       "ballot hashes unique"),
    _S("V15", "Ballots lie inside the voting window", "-", "-"),
    _S("V16", "One counted ballot per credential; turnout within credentials", "-",
       "last ballot per credential"),
    _S("V17", "The tally is the product of the counted ballots", "9 (ballot aggregation)",
       "encrypted tally (recomputed)"),
    _S("V18", "Decryption shares carry valid proofs from a quorum",
       "10.A-10.B (decryption proofs, per guardian as in Note 3.7)", "partial decryptions"),
    _S("V19", "The result is the decryption of the tally",
       "10.C, 11 (decrypted value; tally contents)", "result"),
    _S("V20", "Challenged ballots open to valid choices",
       "13, 14 (challenged ballots: decryption; well-formedness and content)", "-"),
    _S("V21", "Guardians meet the jurisdiction rules", "-", "-"),
    _S("V22", "Witness quorums: timely on the open and close, and on the final checkpoint",
       "-", "-"),
    _S("V23", "Every role is enrolled: pinned keys, no key in two roles", "-",
       "trustee and credential-authority keys in the election's setup"),
]
# fmt: on
TITLES = {c.id: c.title for c in CHECKS}
