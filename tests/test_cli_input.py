"""Bad input gets one clear line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plebiscite.election.demo import builtin_manifest
from plebiscite.record.manifest import ManifestError, parse_manifest


def _one_line(err: str) -> None:
    assert err.count("\n") == 1 and err.startswith("plebiscite: ") and "Traceback" not in err


def _with(**changes: object) -> dict:
    m = builtin_manifest()
    m.update(changes)
    return m


BAD_MANIFESTS = [
    (_with(extra=1), "unknown key 'extra'"),
    (_with(group="rsa-512"), "is not one of"),
    (_with(opens="2027-03-07T07:00:00"), "needs a 'Z' or an offset"),
    (_with(closes="2020-01-01T00:00:00Z"), "closes: must be after opens"),
    (_with(guardians={"count": 2, "quorum": 3}), "guardians.quorum"),
    (_with(regions=[{"id": "x", "name": "X", "questions": ["nope"]}]), "unknown question 'nope'"),
    (
        _with(questions=[{"id": "q", "text": "t", "options": ["yes", "blank"]}]),
        "'blank' is reserved",
    ),
    (
        _with(questions=[{"id": "q", "text": "t", "options": ["a", "b"], "min": 2, "max": 1}]),
        "greater than max",
    ),
    (_with(rule={"majority": 1.5}), "rule.majority"),
    (_with(regions=[{"id": "x", "name": "X", "questions": [["status"]]}]), "unknown question"),
    (_with(title=""), "title"),
]


@pytest.mark.parametrize(("manifest", "message"), BAD_MANIFESTS)
def test_bad_manifest(manifest: dict, message: str, tmp_path: Path, run_cli) -> None:
    with pytest.raises(ManifestError, match=message.replace("(", r"\(")):
        parse_manifest(manifest)
    f = tmp_path / "m.json"
    f.write_text(json.dumps(manifest))
    code, _, err = run_cli("demo", "--manifest", f, "--record", tmp_path / "r")
    assert code == 2 and message in err
    _one_line(err)


@pytest.mark.parametrize(
    "content", ["{", "[1, 2]", '{"title": NaN}', '{"a": 1, "a": 2}', "\xff\xfe"]
)
def test_unreadable_manifest(content: str, tmp_path: Path, run_cli) -> None:
    f = tmp_path / "m.json"
    f.write_bytes(content.encode("latin-1"))
    code, _, err = run_cli("organiser", "init", "--manifest", f, "--data", tmp_path / "d")
    assert code == 2
    _one_line(err)


def test_missing_files(tmp_path: Path, run_cli) -> None:
    for args in (
        ["demo", "--manifest", tmp_path / "none.json"],
        ["verify", tmp_path / "none"],
        ["results", tmp_path / "none", "--json"],
        ["organiser", "open", "--data", tmp_path / "none"],
        ["demo", "--group", "p-256"],
    ):
        code, out, err = run_cli(*args)
        assert code == 2, args
        _one_line(err)
        assert out == ""


def test_results_json_is_exactly_the_counts(demo_outcome, run_cli) -> None:
    code, out, err = run_cli("results", demo_outcome.record, "--json", "--workers", "1")
    assert code == 0
    assert json.loads(out) == demo_outcome.expected


def test_demo_command_end_to_end(tmp_path: Path, run_cli) -> None:
    rec = tmp_path / "rec"
    code, out, err = run_cli(
        "demo", "--record", rec, "--voters", "3", "--seed", "3", "--workers", "1"
    )
    assert code == 0, err
    assert "verified" in out and "Orkney" in out
    code, _, err = run_cli("demo", "--record", rec, "--voters", "3")
    assert code == 2 and "--force" in err


# --- a voter's secrets: never needed on the command line ------------------------------------


def _invoke(*args: object, env: dict[str, str] | None = None, stdin: str | None = None):
    from typer.testing import CliRunner

    from plebiscite.cli import app

    base = {"PLEBISCITE_CODE": None, "PLEBISCITE_CREDENTIAL": None}
    result = CliRunner().invoke(app, [str(a) for a in args], env={**base, **(env or {})},
                                input=stdin)  # fmt: skip
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


WARNING = (
    "warning: --credential on the command line is visible to other users (ps, shell "
    "history); use --credential-file or PLEBISCITE_CREDENTIAL"
)


def test_ballot_takes_the_credential_from_a_file_stdin_the_environment(
    demo_outcome, tmp_path: Path
) -> None:
    cred = next(iter(demo_outcome.credentials.values()))[0]
    region = next(iter(demo_outcome.credentials))
    m = demo_outcome.organiser.manifest
    answers = ",".join(f"{q.id}={q.options[0]}" for q in m.region_questions(region))
    ballot = ["ballot", "--record", demo_outcome.record, "--answers", answers, "--out"]
    f = tmp_path / "cred.txt"
    f.write_text(cred + "\r\n")
    for extra, env, stdin in (
        (["--credential-file", f], None, None),
        (["--credential-file", f, "--credential", "WRONG"], {"PLEBISCITE_CREDENTIAL": "x"}, None),
        (["--credential-file", "-"], None, cred + "\n"),
        ([], {"PLEBISCITE_CREDENTIAL": cred}, None),
    ):
        out = tmp_path / "b.json"
        out.unlink(missing_ok=True)
        code, _, err = _invoke(*ballot, out, *extra, env=env, stdin=stdin)
        assert code == 0 and out.exists(), (extra, err)
        assert "warning" not in err and cred not in err
    # The old option still works, with a warning; the exit status is unchanged.
    code, _, err = _invoke(*ballot, tmp_path / "b.json", "--credential", cred,
                           env={"PLEBISCITE_CREDENTIAL": "ignored"})  # fmt: skip
    assert code == 0 and WARNING in err, err
    # Nothing to be had, standard input not a terminal: no wait, one line, exit 2.
    code, out, err = _invoke(*ballot, tmp_path / "b.json")
    assert code == 2 and out == "" and "no voting credential" in err
    assert "--credential-file" in err and "PLEBISCITE_CREDENTIAL" in err
    _one_line(err)
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "two").write_text(cred + "\n" + cred + "\n")
    (tmp_path / "bin").write_bytes(b"\xff\xfe")
    for bad, needle in (
        (tmp_path / "empty", "empty"),
        (tmp_path / "two", "more than one line"),
        (tmp_path / "bin", "not UTF-8"),
        (tmp_path / "none", "No such file"),
        (tmp_path, "directory"),
    ):
        code, _, err = _invoke(*ballot, tmp_path / "b.json", "--credential-file", bad)
        assert code == 2 and needle in err and str(bad) in err, err
        _one_line(err)
    code, _, err = _invoke(*ballot, tmp_path / "b.json", env={"PLEBISCITE_CREDENTIAL": ""})
    assert code == 2 and "set but empty" in err
    code, _, err = _invoke(*ballot, tmp_path / "b.json", env={"PLEBISCITE_CREDENTIAL": "abc"})
    assert code == 2 and "not well formed" in err and "abc" not in err


def test_prompt_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    from plebiscite import cli_secrets
    from plebiscite.cli_secrets import CODE, voter_secret

    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "typed"

    assert voter_secret(CODE, None, None, env={}, interactive=True, prompt=prompt) == "typed"
    assert asked == ["sign-in code: "]
    with pytest.raises(typer.Exit):
        voter_secret(CODE, None, None, env={}, interactive=False, prompt=prompt)
    assert len(asked) == 1
    monkeypatch.setattr(cli_secrets, "_stdin_is_a_terminal", lambda: True)
    monkeypatch.setattr("getpass.getpass", prompt)
    assert voter_secret(CODE, None, None, env={}) == "typed"
    assert voter_secret(CODE, None, None, env={"PLEBISCITE_CODE": "env"}) == "env"


def test_vote_and_dispute_secrets_without_a_server(demo_outcome, tmp_path: Path) -> None:
    vote = ["vote", "--server", "http://127.0.0.1:9", "--answers", "q1=yes"]
    code, _, err = _invoke(*vote)
    assert code == 2 and "no sign-in code" in err and "--code-file" in err
    _one_line(err)
    code, _, err = _invoke(*vote, "--code-file", "-", "--credential-file", "-", stdin="a\nb\n")
    assert code == 2 and "standard input" in err
    code, _, err = _invoke(*vote, env={"PLEBISCITE_CODE": "c"})
    assert code == 2 and "no voting credential" in err
    _one_line(err)
    code, _, err = _invoke(*vote, "--code", "c", "--credential", "x")
    assert "warning: --code on the command line is visible" in err and WARNING in err
    assert code == 2 and "not well formed" in err  # the status is the error's, unchanged
    cred = next(iter(demo_outcome.credentials.values()))[0]
    out = tmp_path / "d.json"
    dispute = ["dispute", "--record", demo_outcome.record, "--out", out, "--evidence", "x"]
    code, _, err = _invoke(*dispute, env={"PLEBISCITE_CREDENTIAL": cred})
    assert code == 0 and out.exists() and "warning" not in err, err
    code, _, err = _invoke(*dispute)
    assert code == 2 and "no voting credential" in err and "--key" in err
    _one_line(err)
    code, _, err = _invoke(*dispute, "--credential-file", "-", "--key", tmp_path / "k")
    assert code == 2 and "exactly one of" in err


@pytest.mark.parametrize("fmt", [None, 1, 3, "2", True])
def test_a_record_of_another_format_is_unusable_input(
    fmt: object, demo_outcome, record_copy: Path, tmp_path: Path, run_cli
) -> None:
    """The referendum entry names its record format (hashed into the election id). A
    record of another format, or of none (format 1), is not half-understood: verify and
    every role stop with one line naming the format, exit 2."""
    import tamperlib as tl

    entries = tl.load_entries(record_copy)
    data = dict(entries[0].data)
    if fmt is None:
        del data["record_format"]
    else:
        data["record_format"] = fmt
    entries[0] = tl.resign_as_owner(demo_outcome, entries[0], data)
    tl.save(record_copy, entries, tl.board_key(demo_outcome))
    want = f"record format {1 if fmt is None else fmt!r}: this plebiscite reads record format 2"
    code, _, err = run_cli("verify", record_copy, "--workers", "1")
    assert code == 2 and want in err and len(err.strip().splitlines()) == 1, err
    code, _, err = run_cli(
        "ballot", "--record", record_copy, "--credential-file", tmp_path / "none",
        "--answers", "status=yes", "--out", tmp_path / "b.json",
    )  # fmt: skip
    assert code == 2


def test_an_offline_ballot_replaces_its_credential_head_in_the_record(
    demo_outcome, tmp_path: Path
) -> None:
    """``ballot --record`` reads the credential's revote chain from the record: a voter
    who voted gets a ballot replacing their latest one, a voter who did not one
    replacing nothing."""
    from plebiscite.election.credentials import public_credential
    from plebiscite.verify.chain import follow_chain
    from plebiscite.verify.reader import read_record

    eid = demo_outcome.organiser.election_id
    lines = list(read_record(demo_outcome.record).entries)
    m = demo_outcome.organiser.manifest
    seen = set()
    for region, creds in demo_outcome.credentials.items():
        for cred in creds:
            head = follow_chain(lines, public_credential(eid, cred)).head
            if (head is None) in seen:
                continue
            seen.add(head is None)
            answers = ",".join(f"{q.id}={q.options[0]}" for q in m.region_questions(region))
            out = tmp_path / "b.json"
            code, _, err = _invoke(
                "ballot", "--record", demo_outcome.record, "--answers", answers, "--out", out,
                env={"PLEBISCITE_CREDENTIAL": cred},
            )  # fmt: skip
            assert code == 0, err
            assert json.loads(out.read_text())["data"]["replaces"] == head
    assert seen == {True, False}
