#!/usr/bin/env bash
# Create .venv-eg: electionguard 1.4.0 (the reference SDK for ElectionGuard 1.x records)
# in its own venv, apart from the project's .venv (it pins pydantic 1.9 and an old world).
#
# Idempotent: creates the venv only if missing, installs only what is missing, applies
# the Python-3.11 fix to its tally.py only once. Prints the venv's python on stdout.
#
#   scripts/eg-venv.sh            # -> /path/to/.venv-eg/bin/python
#   EG_VENV=/elsewhere scripts/eg-venv.sh
#
# What is installed, and why (electionguard's own declared dependencies pull in a GUI,
# MongoDB and a DI framework it does not need to make or read a record):
#   electionguard==1.4.0 (--no-deps)  the SDK: electionguard, electionguard_tools
#   gmpy2<3, psutil, python-dateutil  imported by electionguard itself
#   pydantic==1.9.0                   pinned by electionguard (serialize.py)
#   dacite==1.7.0                     reading records back; newer ones fail on datetimes
#   hypothesis                        imported by electionguard_tools, not declared
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${EG_VENV:-$here/.venv-eg}"
py="$venv/bin/python"
stamp="$venv/.eg-installed-stamp"

pick_python() {
    # electionguard 1.4.0 wants Python >= 3.9.5; prefer 3.11, the project's version.
    for cand in "${EG_PYTHON:-}" python3.11 python3 python3.12 python3.10; do
        [ -n "$cand" ] || continue
        if command -v "$cand" >/dev/null 2>&1 \
            && "$cand" -c 'import sys; sys.exit(not (3, 9, 5) <= sys.version_info < (3, 13))' \
                2>/dev/null; then
            echo "$cand"
            return 0
        fi
    done
    echo "eg-venv: no Python 3.9.5-3.12 found" >&2
    return 1
}

# Several test processes (pytest -n) may call this at once: one builds, the others wait.
if command -v flock >/dev/null 2>&1; then
    lock="${TMPDIR:-/tmp}/eg-venv-$(printf '%s' "$venv" | cksum | cut -d' ' -f1).lock"
    exec 9>"$lock"
    flock 9
fi

if [ ! -x "$py" ]; then
    "$(pick_python)" -m venv "$venv" >&2
fi

if [ ! -f "$stamp" ]; then
    # pip's log goes to the venv (it warns that electionguard's GUI and database
    # dependencies are absent, which is intended); shown only if the install fails.
    log="$venv/eg-install.log"
    pip=("$py" -m pip install --quiet --disable-pip-version-check)
    if ! { "${pip[@]}" --no-deps "electionguard==1.4.0" \
        && "${pip[@]}" "gmpy2>=2.1,<3" "psutil>=5.7.2" "python-dateutil>=2.8.2,<3" \
            "pydantic==1.9.0" "dacite==1.7.0" "hypothesis>=6"; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "eg-venv: installing electionguard 1.4.0 failed" >&2
        exit 1
    fi
fi

# Python 3.11 rejects a mutable (unhashable) dataclass default: electionguard 1.4.0's
# CiphertextTallySelection.ciphertext = field(default=ElGamalCiphertext(...)). Make it
# a default_factory. Idempotent: the pattern is gone once fixed.
"$py" - <<'EOF' >&2
import pathlib, re, sysconfig

path = pathlib.Path(sysconfig.get_paths()["purelib"]) / "electionguard" / "tally.py"
text = path.read_text()
bad = re.compile(r"field\(\s*default=ElGamalCiphertext\(ONE_MOD_P, ONE_MOD_P\)\s*\)")
if bad.search(text):
    text = bad.sub("field(default_factory=lambda: ElGamalCiphertext(ONE_MOD_P, ONE_MOD_P))", text)
    path.write_text(text)
    for cached in path.parent.glob("__pycache__/tally.*.pyc"):
        cached.unlink()
EOF

if [ ! -f "$stamp" ]; then
    # Only now, once everything imports, is the venv complete.
    "$py" -c 'import electionguard.tally, electionguard_tools.helpers.export, dacite, hypothesis' >&2
    touch "$stamp"
fi

echo "$py"
