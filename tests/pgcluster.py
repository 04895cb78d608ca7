"""A throwaway PostgreSQL cluster for the tests.

``PostgresCluster.start()`` runs ``initdb`` into a fresh temporary directory, starts the
server with ``pg_ctl`` (listening only on a Unix socket inside that directory, so several
clusters, e.g. one per pytest-xdist worker, never compete for a port), waits until it
accepts connections and creates a database; ``stop()`` stops the server and removes the
directory. The server runs with its durable defaults (``fsync=on``,
``synchronous_commit=on``, ``full_page_writes=on``).

PostgreSQL refuses to run as root: as root, every PostgreSQL binary is run as the
``postgres`` user (``runuser``) and the directory is handed to that user; as anyone else,
the binaries run as the current user.

The binaries are looked up in ``$PG_BINDIR``, then with ``pg_config --bindir`` and
``initdb`` on ``PATH``, then in ``/usr/lib/postgresql/<version>/bin`` (newest first). If
none is found, ``PostgresUnavailable`` says what to install.

Run ``python tests/pgcluster.py`` to start one by hand; it prints its URL and stops on
Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PostgresCluster", "PostgresUnavailable", "find_bindir"]

DATABASE = "plebiscite_test"
SUPERUSER = "postgres"
PORT = 5432  # only names the socket file: the server listens on no TCP port


class PostgresUnavailable(RuntimeError):
    """PostgreSQL binaries are missing or the cluster could not be started."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bindir() -> Path:
    """Directory holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    candidates.extend(
        sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    )
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install the "
        "PostgreSQL server (Debian/Ubuntu: apt-get install postgresql) or set PG_BINDIR "
        "to the directory holding them; the PostgreSQL board store tests need them"
    )


class PostgresCluster:
    """One temporary cluster: ``start()``, use ``url``, ``stop()``. Also a context manager."""

    def __init__(self, prefix: str = "plebiscite-pg-", bindir: Path | None = None) -> None:
        self._prefix = prefix
        self._bindir = bindir
        self.base: Path | None = None
        self._run_as: str | None = None

    # -- paths --------------------------------------------------------------------------

    @property
    def datadir(self) -> Path:
        assert self.base is not None, "cluster not started"
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.base is not None, "cluster not started"
        return self.base

    @property
    def logfile(self) -> Path:
        assert self.base is not None, "cluster not started"
        return self.base / "server.log"

    def url_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}&port={PORT}"

    @property
    def url(self) -> str:
        """``postgresql://`` URL of the test database (Unix socket, trust auth)."""
        return self.url_for(DATABASE)

    # -- running binaries ---------------------------------------------------------------

    def _cmd(self, tool: str, *args: str) -> list[str]:
        assert self._bindir is not None
        cmd = [str(self._bindir / tool), *args]
        if self._run_as is not None:
            cmd = ["runuser", "-u", self._run_as, "--", *cmd]
        return cmd

    def _run(self, tool: str, *args: str, timeout: float = 60) -> str:
        cmd = self._cmd(tool, *args)
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            raise PostgresUnavailable(f"{' '.join(cmd)}: {exc}") from exc
        if done.returncode != 0:
            log = ""
            if self.base is not None and self.logfile.exists():
                log = "\nserver log:\n" + self.logfile.read_text(errors="replace")[-3000:]
            raise PostgresUnavailable(
                f"{' '.join(cmd)} exited with {done.returncode}:\n"
                f"{done.stdout[-2000:]}{done.stderr[-3000:]}{log}"
            )
        return done.stdout

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, timeout: float = 60) -> str:
        """Create, start and return the URL of the test database."""
        if self._bindir is None:
            self._bindir = find_bindir()
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise PostgresUnavailable("running as root, but runuser is missing")
            try:
                pw = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise PostgresUnavailable(
                    "running as root, but there is no 'postgres' user to run PostgreSQL as"
                ) from None
            self._run_as = SUPERUSER
        # Short path under the system temp dir: a Unix socket path is limited to ~107 bytes,
        # and, as root, the postgres user must be able to reach it.
        self.base = Path(tempfile.mkdtemp(prefix=self._prefix, dir=tempfile.gettempdir()))
        try:
            if self._run_as is not None:
                os.chown(self.base, pw.pw_uid, pw.pw_gid)
            self._run(
                "initdb",
                "-D",
                str(self.datadir),
                f"--username={SUPERUSER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                timeout=timeout,
            )
            settings = {
                "listen_addresses": "''",
                "unix_socket_directories": f"'{self.socket_dir}'",
                "port": str(PORT),
                "fsync": "on",
                "synchronous_commit": "on",
                "full_page_writes": "on",
                "max_connections": "60",
                "shared_buffers": "32MB",
            }
            with open(self.datadir / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write("\n# plebiscite tests\n")
                conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
            self._run(
                "pg_ctl",
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                str(int(timeout)),
                "start",
                timeout=timeout + 10,
            )
            self._create_database(timeout)
        except BaseException:
            self.stop()
            raise
        return self.url

    def _create_database(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url_for("postgres"), autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{DATABASE}"')
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PostgresUnavailable(f"the test cluster does not answer: {exc}") from exc
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (if running) and remove its directory. Idempotent."""
        if self.base is None:
            return
        try:
            pidfile = self.datadir / "postmaster.pid"
            if pidfile.exists():
                try:
                    self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
                except PostgresUnavailable:
                    # Last resort: SIGQUIT is the postmaster's immediate shutdown.
                    with contextlib.suppress(OSError, ValueError, IndexError):
                        os.kill(int(pidfile.read_text().split()[0]), signal.SIGQUIT)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def __enter__(self) -> PostgresCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":  # pragma: no cover - manual use
    with PostgresCluster() as cluster:
        print(cluster.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
