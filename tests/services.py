"""Throwaway PostgreSQL and S3-compatible servers for tests and benchmarks.

``.ci/run`` starts both once for the whole suite and exports the variables the tests
read; a developer running ``pytest`` without them gets the same servers started by the
session fixtures in ``tests/conftest.py``. Nothing here talks to anything but 127.0.0.1.

    python tests/services.py start DIR     # prints `export NAME=value` lines
    python tests/services.py stop DIR

PostgreSQL: Debian's binaries (``/usr/lib/postgresql/<version>/bin``), a cluster
initialised in DIR by ``initdb``, run as the ``postgres`` user when we are root
(PostgreSQL refuses to run as root), on a free port on 127.0.0.1 with password
authentication. S3: moto's standalone server (``moto[server]``, a test dependency).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

POSTGRES_ENV = "MONITOR_TEST_POSTGRES"  # postgresql://user:password@127.0.0.1:port/postgres
S3_ENV = "MONITOR_TEST_S3_ENDPOINT"  # http://127.0.0.1:port (with AWS_* credentials)
_USER = "monitor"
_START_TIMEOUT = 60.0


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian layout), or None."""
    found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p, "initdb").exists()]
    if not found:
        on_path = shutil.which("initdb")
        return Path(on_path).parent if on_path else None
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres() -> list[str]:
    """Prefix for commands PostgreSQL must not run as root."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def _chown_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class PostgresCluster:
    """A cluster in ``root`` serving on 127.0.0.1:``port``."""

    root: Path
    port: int
    password: str

    @property
    def url(self) -> str:
        return f"postgresql://{_USER}:{self.password}@127.0.0.1:{self.port}/postgres"

    @classmethod
    def start(cls, root: Path, durable: bool = False) -> PostgresCluster:
        """initdb + start. ``durable=False`` turns fsync off: fine for throwaway data."""
        bindir = postgres_bin()
        if bindir is None:
            raise RuntimeError(
                "no PostgreSQL binaries: install Debian's package (apt-get install -y postgresql)"
            )
        root.mkdir(parents=True, exist_ok=True)
        _chown_to_postgres(root)
        password = secrets.token_hex(12)
        data, pwfile = root / "data", root / "pwfile"
        pwfile.write_text(password + "\n")
        _chown_to_postgres(pwfile)
        subprocess.run(
            [*_as_postgres(), str(bindir / "initdb"), "-D", str(data), "-U", _USER,
             f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        pwfile.unlink()
        port = free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": str(root),
            "max_connections": "200",
            "shared_buffers": "128MB",
        }
        if not durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.writelines(f"{key} = '{value}'\n" for key, value in settings.items())
        subprocess.run(
            [*_as_postgres(), str(bindir / "pg_ctl"), "-D", str(data), "-l",
             str(root / "server.log"), "-w", "-t", str(int(_START_TIMEOUT)), "start"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        (root / "port").write_text(str(port))
        return cls(root, port, password)

    @staticmethod
    def stop(root: Path) -> None:
        bindir = postgres_bin()
        if bindir is None or not (root / "data" / "postmaster.pid").exists():
            return
        subprocess.run(
            [*_as_postgres(), str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate",
             "-w", "stop"],
            check=False, stdout=subprocess.DEVNULL,
        )  # fmt: skip


@dataclass
class S3Server:
    """moto's standalone S3 server on 127.0.0.1:``port``."""

    port: int
    pid: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, root: Path) -> S3Server:
        root.mkdir(parents=True, exist_ok=True)
        port = free_port()
        log = open(root / "moto.log", "wb")  # noqa: SIM115 (the server keeps it)
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if server.poll() is not None:
                raise RuntimeError(f"moto server exited; see {root / 'moto.log'}")
            time.sleep(0.1)
        else:
            server.kill()
            raise RuntimeError(f"moto server did not start within {_START_TIMEOUT:g}s")
        (root / "moto.pid").write_text(str(server.pid))
        return cls(port, server.pid)

    @staticmethod
    def stop(root: Path) -> None:
        pidfile = root / "moto.pid"
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pidfile.read_text()), signal.SIGTERM)
            pidfile.unlink()


S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "monitor-test",
    "AWS_SECRET_ACCESS_KEY": "monitor-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def create_bucket(endpoint: str, bucket: str) -> None:
    """Create a bucket on the test server (moto accepts a plain PUT)."""
    import httpx

    response = httpx.put(f"{endpoint}/{bucket}", timeout=30)
    if response.status_code not in (200, 409):
        raise RuntimeError(f"cannot create bucket {bucket}: {response.status_code}")


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(argv[2])
    if argv[1] == "stop":
        S3Server.stop(root / "s3")
        PostgresCluster.stop(root / "postgres")
        return 0
    cluster = PostgresCluster.start(root / "postgres")
    s3 = S3Server.start(root / "s3")
    print(f"export {POSTGRES_ENV}={cluster.url}")
    print(f"export {S3_ENV}={s3.endpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
