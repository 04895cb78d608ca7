"""Observers' attestations on the server: kept beside the board, outside its Merkle log.

An attestation is self-signed and points at one of the board's checkpoints, so the
server checks it against its own board (signature, declared or accredited observer's
key, a checkpoint of this board) and keeps the valid ones in
``<referendum folder>/attestations/``, one file each, as a record's ``attestations/``
folder holds them.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import Response

from plebiscite.observe.attest import (
    ATTESTATIONS,
    AttestationError,
    RecordView,
    check_against,
    keep,
    results_digest,
    summarise_folder,
    verified_count,
)
from plebiscite.record.manifest import observers
from plebiscite.server.registry import Referendum, Registry

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,160}\.json$")


def board_view(ref: Referendum) -> RecordView:
    """The server's own board, as an attestation check needs it: no record is written,
    and no checkpoint is added."""
    org = ref.org
    return RecordView(
        election_id=org.election_id,
        observers=org.observers(),
        checkpoints={RecordView.checkpoint_key(cp) for cp in org.board.checkpoints()},
        declared=set(observers(org.manifest)),
    )


def register(app: FastAPI, registry: Registry) -> None:
    """Add the attestation routes to ``app``."""

    def referendum(rid: str) -> Referendum:
        ref = registry.get(rid)
        if ref is None:
            raise HTTPException(404, f"no referendum {rid!r}")
        return ref

    @app.post("/api/referendums/{rid}/attestations", tags=["observers"])
    def post_attestation(
        body: dict[str, Any], ref: Referendum = Depends(referendum)
    ) -> dict[str, Any]:
        """An observer's signed attestation of one of this board's checkpoints (kept
        beside the log); its signature and the observer's declared or accredited key are
        the authorisation. Refused (422) unless it checks against this board."""
        with ref.lock:
            problems = check_against(body, board_view(ref))
            if problems:
                raise HTTPException(422, "; ".join(problems))
            try:
                name, added = keep(ref.folder / ATTESTATIONS, body)
            except AttestationError as exc:
                raise HTTPException(409, str(exc)) from exc
        return {"status": "kept" if added else "already kept", "name": name}

    @app.get("/api/referendums/{rid}/attestations", tags=["observers"])
    def list_attestations(ref: Referendum = Depends(referendum)) -> dict[str, Any]:
        """Every attestation kept, oldest first, each with the observer's declared name,
        kind and jurisdiction, its verdict, recognition statement and reason, and whether
        it is valid for this board; and how many independent observers verified (once
        a result is posted: verified that result, by its ``results_digest``)."""
        items = summarise_folder(ref.folder / ATTESTATIONS, board_view(ref))
        result = next((e.data for _, e in ref.org.of_type("result")), None)
        digest = results_digest(result["counts"]) if result else None
        return {
            "attestations": items,
            "results_digest": digest,
            "verified_by": verified_count(items, digest),
            "verified_by_accredited": verified_count(items, digest, declared=False),
        }

    @app.get("/api/referendums/{rid}/record/attestations/{name}", tags=["board"])
    def attestation_file(name: str, ref: Referendum = Depends(referendum)) -> Response:
        """One attestation file, as kept."""
        if not _NAME.match(name) or ".." in name:
            raise HTTPException(422, "not an attestation file name")
        path = ref.folder / ATTESTATIONS / name
        if not path.is_file():
            raise HTTPException(404, f"no attestation {name!r}")
        return Response(path.read_bytes(), media_type="application/json")
