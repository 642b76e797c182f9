"""A throwaway PostgreSQL cluster from Debian's `postgresql` package, for the tests and the benchmarks.

initdb + pg_ctl in a temp dir, listening only on 127.0.0.1 on a free port (its unix socket in the temp dir,
so it never meets a system cluster), one fresh database per test. PostgreSQL refuses to run as root, so as
root the cluster runs as the `postgres` OS user, which owns the temp dir.
"""
from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from harness.servers import free_port

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresCluster:
    """One cluster; `create_database()` hands out empty databases on it as `postgresql://` URLs."""

    def __init__(self, durable: bool = False):
        # Not durable (fsync off) by default: the tests kill our services, never the database server, and
        # a disk flush per commit on a shared test machine only makes them slow.
        self.durable = durable
        self.port = free_port()
        self.dir: Path | None = None
        self._names = itertools.count(1)

    def start(self) -> PostgresCluster:
        for tool in ("initdb", "pg_ctl"):
            if not (PG_BIN / tool).exists():
                raise RuntimeError(f"{PG_BIN / tool} is missing: install Debian's postgresql package "
                                   "(scripts/install-test-deps.sh does)")
        self.dir = Path(tempfile.mkdtemp(prefix="pg-cluster-"))
        user = self._user()
        if user is not None:
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._run(PG_BIN / "initdb", "-D", self.dir / "data", "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c max_connections=300"
                   f" -c shared_buffers=64MB{'' if self.durable else ' -c fsync=off -c synchronous_commit=off'}")
        try:
            self._run(PG_BIN / "pg_ctl", "-D", self.dir / "data", "-l", self.dir / "server.log", "-o", options,
                      "-w", "-t", "60", "start")
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        path = self.dir / "server.log" if self.dir else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def stop(self) -> None:
        if self.dir is None:
            return
        if (self.dir / "data" / "postmaster.pid").exists():
            self._run(PG_BIN / "pg_ctl", "-D", self.dir / "data", "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @staticmethod
    def _user() -> pwd.struct_passwd | None:
        """The `postgres` account when we are root (PostgreSQL refuses root); None runs as ourselves."""
        return pwd.getpwnam("postgres") if os.geteuid() == 0 else None

    def _run(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        user = self._user()
        done = subprocess.run([str(a) for a in args], cwd=self.dir, capture_output=True, text=True, timeout=120,
                              user=user.pw_uid if user else None, group=user.pw_gid if user else None,
                              extra_groups=[] if user else None)
        if check and done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}\n{self.log()}")
        return done
