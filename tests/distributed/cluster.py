"""The deployment docker-compose.yml describes, without Docker: Airflow's api-server, scheduler,
dag-processor and a Celery worker as processes in a temporary AIRFLOW_HOME, the metadata
database a fresh PostgreSQL database on the local server, the broker the local Redis.

Every process runs in its own process group (killed as a group at the end, never by name); each
cluster has its own Redis database number and Celery queue, so two sessions on one machine do
not take each other's tasks.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers import ROOT

BIN = Path(sys.executable).parent
PASSWORD = "sv-admin-" + uuid.uuid4().hex[:8]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dead_port() -> int:
    """A local port nothing listens on (bound once, then released)."""
    return free_port()


@dataclass
class Cluster:
    home: Path
    env: dict[str, str]
    port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _token: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- processes ---------------------------------------------------------------------------
    def run(self, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(list(argv), env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(argv[:3])} exited {done.returncode}:\n"
                                 f"{done.stderr[-3000:]}\n{done.stdout[-1500:]}")
        return done

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.run(str(BIN / "airflow"), *args, timeout=timeout)

    def start(self, name: str, *args: str) -> None:
        log = open(self.home / f"{name}.log", "wb")   # noqa: SIM115 - the process owns it
        self.processes[name] = subprocess.Popen([str(BIN / "airflow"), *args], env=self.env, cwd=ROOT,
                                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> dict[str, int | None]:
        return {n: p.poll() for n, p in self.processes.items()}

    def stop(self) -> None:
        """SIGTERM each process group, then SIGKILL what is left after a grace period.

        A task process runs in a session of its own (its supervisor's child), outside the
        worker's process group: the descendants are listed first and killed by pid as well.
        """
        import psutil

        descendants: list[psutil.Process] = []
        for p in self.processes.values():
            with contextlib.suppress(psutil.Error):
                descendants += psutil.Process(p.pid).children(recursive=True)
        for p in self.processes.values():
            _signal_group(p, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for p in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(max(0.1, deadline - time.monotonic()))
        for p in self.processes.values():
            _signal_group(p, signal.SIGKILL)   # the group: celery's forked pool and supervisors
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)
        for child in descendants:
            with contextlib.suppress(psutil.Error):
                child.kill()

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.home / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # -- REST API v2 -----------------------------------------------------------------------------
    def token(self) -> str:
        """A JWT from the simple auth manager (POST /auth/token with the configured user)."""
        if self._token is None:
            out = self._call("POST", "/auth/token", {"username": "admin", "password": PASSWORD}, auth=False)
            self._token = str(out["access_token"])
        return self._token

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call(method, "/api/v2" + path, body)

    def _call(self, method: str, path: str, body: dict[str, Any] | None, *, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:2000]
            if exc.code < 500 and exc.code != 404:
                raise AssertionError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
            raise
        return json.loads(raw) if raw else None

    def wait_for(self, what: str, probe: Callable[[], Any], timeout: float, every: float = 1.0) -> Any:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            dead = {n: rc for n, rc in self.alive().items() if rc is not None}
            if dead:
                raise AssertionError(f"waiting for {what}: {dead} exited\n" +
                                     "\n".join(f"--- {n}\n{self.tail(n)}" for n in dead))
            try:
                value = probe()
                if value:
                    return value
                last = value
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = exc
            time.sleep(every)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})\n" +
                             "\n".join(f"--- {n}\n{self.tail(n, 25)}" for n in self.processes))


def _signal_group(p: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(p.pid, sig)    # start_new_session: the group id is the leader's pid


def cluster_env(home: Path, *, metadata_url: str, broker_url: str, store_url: str, port: int,
                extra: dict[str, str]) -> dict[str, str]:
    """docker-compose.yml's x-airflow environment, for processes on this machine."""
    queue = "sv_" + uuid.uuid4().hex[:8]
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW", "SYNCVERIFY_", "PYTEST")) and k not in {"CI"}}
    return {
        **keep,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        # postgresql+psycopg2 kept: SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "SYNCVERIFY_PROJECT": str(ROOT),
        **extra,
    }


def write_passwords(home: Path) -> None:
    (home / "passwords.json").write_text(json.dumps({"admin": PASSWORD}), encoding="utf-8")
