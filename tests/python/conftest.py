"""Real-server fixtures for the interop suite.

Each test module gets its own server process (module scope): `voltctl init` of a fresh root
directory under pytest's tmp path with schema.sql and deployment.xml, then `voltctl start` in the
foreground on free 127.0.0.1 ports with its output in a file, ready once it prints
"Server completed initialization." Tests share their module's server and keep out of each
other's way with their own key prefixes or their own tables; a server that a bad-input test
brings down fails that test (see `_server_still_serving`) and only that module.

Every wait is bounded: server start-up (60 s), shutdown (SIGTERM, then SIGKILL after 20 s), and
each test (SIGALRM, 120 s unless marked `@pytest.mark.timeout(seconds)`). Servers are killed by
pid in fixture teardown, whether the tests passed or not, and once more at interpreter exit for
anything a crash of pytest itself left behind.

Configuration: VOLTCTL names the voltctl binary (default: <repo>/.build/debug/voltctl, which
`scripts/test` builds). A missing binary is a usage error, never a skip.
"""

import atexit
import os
import resource
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCHEMA = HERE / "schema.sql"
DEPLOYMENT = HERE / "deployment.xml"
READY_LINE = "Server completed initialization."
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
DEFAULT_TEST_TIMEOUT_S = 120

# Every server process this pytest run started and has not reaped yet, by pid.
_running = {}


def _kill_leftovers():
    for pid, proc in list(_running.items()):
        if proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        _running.pop(pid, None)


atexit.register(_kill_leftovers)


def voltctl_path():
    return Path(os.environ.get("VOLTCTL", REPO / ".build" / "debug" / "voltctl"))


def pytest_configure(config):
    binary = voltctl_path()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        raise pytest.UsageError(
            "voltctl binary not found or not executable at %s. Build it first "
            "(`swift build --product voltctl` from the repository root, or run scripts/test), "
            "or point VOLTCTL at it." % binary)
    # 1,000 idle connections need more descriptors than a default soft limit of 1024; the server
    # inherits this process's limits.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def free_ports(count):
    """Distinct free TCP ports on 127.0.0.1 (each bound to port 0 at the same time, then released).
    Another process can take one before the server binds it; `Server.start` retries on that."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _run(args, log_path, timeout):
    with open(log_path, "ab") as log:
        log.write(("$ %s\n" % " ".join(map(str, args))).encode())
        log.flush()
        try:
            done = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail("%s did not finish within %d s; output in %s" % (args[:2], timeout, log_path),
                        pytrace=False)
    return done.returncode


def tail(path, lines=40):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as e:
        return "(no log: %s)" % e
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Server:
    """One `voltctl start` process and how to reach it."""
    root: Path
    log_path: Path
    proc: subprocess.Popen = None
    client_port: int = 0
    admin_port: int = 0
    internal_port: int = 0
    http_port: int = 0
    host: str = "127.0.0.1"
    exit_code: int = None
    needed_sigkill: bool = False

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_kib(self):
        """Resident set size of the server process, from /proc/PID/status."""
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS line for pid %d" % self.pid)

    def log_tail(self, lines=40):
        return tail(self.log_path, lines)

    def init(self, schema=SCHEMA, deployment=DEPLOYMENT):
        code = _run([voltctl_path(), "init", "--dir", self.root, "--config", deployment,
                     "--schema", schema], self.log_path, 60)
        if code != 0:
            pytest.fail("voltctl init exited with %d:\n%s" % (code, self.log_tail()), pytrace=False)

    def start(self, attempts=3):
        for attempt in range(attempts):
            (self.client_port, self.admin_port, self.internal_port,
             self.http_port) = free_ports(4)
            offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            # Every port on 127.0.0.1 (`[ip:]port`, as VoltDB's start takes them).
            args = [voltctl_path(), "start", "--dir", self.root]
            for option, port in [("--client", self.client_port), ("--admin", self.admin_port),
                                 ("--internal", self.internal_port), ("--http", self.http_port)]:
                args += [option, "%s:%d" % (self.host, port)]
            with open(self.log_path, "ab") as log:
                log.write(("$ %s\n" % " ".join(map(str, args))).encode())
                log.flush()
                self.proc = subprocess.Popen(list(map(str, args)), stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True)
            _running[self.proc.pid] = self.proc
            outcome = self._wait_ready(offset)
            if outcome == "ready":
                return
            text = self._log_since(offset)
            self.stop()
            if outcome == "exited" and "in use" in text.lower() and attempt + 1 < attempts:
                continue  # a port was taken between free_ports() and the bind: new ports
            pytest.fail("voltctl start did not print %r (%s, exit code %s):\n%s"
                        % (READY_LINE, outcome, self.exit_code, self.log_tail()), pytrace=False)

    def _log_since(self, offset):
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def _wait_ready(self, offset):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if READY_LINE in self._log_since(offset):
                return "ready"
            if self.proc.poll() is not None:
                # It may have printed the line just before exiting; look once more.
                return "ready-then-exited" if READY_LINE in self._log_since(offset) else "exited"
            time.sleep(0.05)  # polling the log for the readiness line, not synchronizing
        return "timed out after %d s" % START_TIMEOUT_S

    def stop(self):
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; always reaps the process."""
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self.needed_sigkill = True
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            self.exit_code = self.proc.returncode
        finally:
            _running.pop(self.proc.pid, None)


def _start_server(tmp_path_factory, name):
    base = tmp_path_factory.mktemp(name)
    server = Server(root=base / "voltdbroot", log_path=base / "server.log")
    try:
        server.init()
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """A fresh single-host server for this module, stopped (by pid) when the module is done."""
    s = _start_server(tmp_path_factory, request.module.__name__.rsplit(".", 1)[-1])
    try:
        yield s
    finally:
        s.stop()
    # The server promises to stop cleanly on SIGTERM, whatever the module put it through.
    if s.needed_sigkill or s.exit_code != 0:
        pytest.fail("the server (pid %d) did not stop cleanly on SIGTERM: %s\n%s"
                    % (s.pid, "still running after %d s, killed" % STOP_TIMEOUT_S
                       if s.needed_sigkill else "exit code %s" % s.exit_code, s.log_tail()),
                    pytrace=False)


@pytest.fixture
def fresh_server(request, tmp_path_factory):
    """A server of the test's own, for tests that end its life (shutdown tests)."""
    s = _start_server(tmp_path_factory, request.node.name[:40])
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(autouse=True)
def _server_still_serving(request):
    """After each test that used a module server: it must still be running."""
    yield
    if "server" in request.fixturenames:
        s = request.getfixturevalue("server")
        assert s.alive(), ("the server (pid %d) died during this test, exit code %s:\n%s"
                           % (s.pid, s.proc.returncode, s.log_tail()))


class TestTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def _bounded_test(request):
    """Fail a test that runs longer than its bound (SIGALRM interrupts blocking calls in the main
    thread, so fixtures' teardown still runs and still kills the server)."""
    marker = request.node.get_closest_marker("timeout")
    seconds = marker.args[0] if marker else DEFAULT_TEST_TIMEOUT_S

    def expired(signum, frame):
        raise TestTimeout("test exceeded its %d s bound" % seconds)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def client(server):
    """A topology-aware VoltClient connected to the module's server, closed after the test."""
    from voltclient import VoltClient
    c = VoltClient(hosts=[server.host], port=server.client_port, connect_timeout=10,
                   procedure_timeout=60)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def unique(request):
    """A short prefix unique to this test, for keys and table names."""
    import uuid
    return "t%s" % uuid.uuid4().hex[:10]


@pytest.fixture
def cluster_factory(tmp_path):
    """Makes `cluster.LocalCluster`s under the test's tmp path (same arguments, without the
    directory); every host of every one is killed by pid when the test ends, pass or fail."""
    from cluster import LocalCluster
    made = []

    def make(**kwargs):
        c = LocalCluster(tmp_path / ("cluster%d" % len(made)), **kwargs)
        made.append(c)
        return c

    try:
        yield make
    finally:
        for c in made:
            c.stop()
