"""Local multi-host clusters for the cluster tests (`-m cluster`), and what those tests share.

`LocalCluster` runs N real `voltctl start` processes on 127.0.0.1, one root directory each,
started together as one cluster:

    voltctl init  --dir D_k --config D_k.xml --schema cluster_schema.sql
    voltctl start --dir D_k --host 127.0.0.1:I_0,...,127.0.0.1:I_n-1 --count n
                  --internal 127.0.0.1:I_k --client 127.0.0.1:C_k --admin 127.0.0.1:A_k
                  --http 127.0.0.1:0

Every host gets the same --host list and --count. Internal ports are handed out in ascending
order, so host 0 is the first sorted --host: the one that coordinates start-up. (All ports are
five-digit ephemeral ports, so numeric and text order agree; `_pick_ports` checks it.) A host is
ready when its output shows "Server completed initialization."; `restart(k)` runs host k's very
same command again (a rejoin) and waits for the line again, looking only at output written after
the restart.

Every wait is bounded and a failed wait fails the test with the tail of every host's output (its
stdout and stderr; in the foreground the host's log, D_k/log/host.log, goes to stderr too). Every
process is registered in conftest's `_running` as soon as it exists, so interpreter exit kills it
whatever happens, and `stop()` (the `cluster_factory` fixture's teardown) kills every host by pid
with SIGKILL, after a SIGCONT for a host a test left stopped.

The helpers below the class are the legacy-client (`FastSerializer`) calls the cluster tests make
against one chosen host's port: topology, host ids, KSAFETY, partition keys, per-partition key
reads, `voltctl status`, liveness probes and the background writer that records acknowledged
inserts.
"""

import json
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from voltclient import MP_INIT_PID, _parse_overview, _parse_topology
from voltdbclient import FastSerializer, VoltProcedure, VoltResponse

from conftest import READY_LINE, TestTimeout, _running, free_ports, tail, voltctl_path
from support import BIGINT, INTEGER, STRING, SUCCESS, VARBINARY, describe

HERE = Path(__file__).resolve().parent
CLUSTER_SCHEMA = HERE / "cluster_schema.sql"
LOCALHOST = "127.0.0.1"

START_TIMEOUT_S = 90.0     # every host of a new cluster prints the ready line
REJOIN_TIMEOUT_S = 90.0    # a restarted host prints the ready line (its rejoin is done)
KILL_REAP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 25


@dataclass
class ClusterHost:
    """One host of a LocalCluster: its directory, ports, command and current process."""
    index: int
    base: Path
    internal_port: int = 0
    client_port: int = 0
    admin_port: int = 0
    settings: dict = field(default_factory=dict)
    args: list = field(default_factory=list)
    proc: subprocess.Popen = None
    launch_offset: int = 0      # where the current process's output starts in out_path
    launches: int = 0

    @property
    def root(self):
        return self.base / "voltdbroot"

    @property
    def out_path(self):
        """stdout and stderr of every process this host has run, each after a `$ command` line."""
        return self.base / "output.log"

    @property
    def host_log(self):
        return self.root / "log" / "host.log"

    @property
    def deployment_path(self):
        return self.base / "deployment.xml"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self):
        """Everything the current process has printed so far."""
        try:
            with open(self.out_path, "rb") as f:
                f.seek(self.launch_offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def ready(self):
        return READY_LINE in self.output()


class LocalCluster:
    """N `voltctl start` processes on 127.0.0.1 forming one cluster. See the module docstring.

    `overrides` maps a host index to deployment settings that differ from the cluster's
    (e.g. `{1: {"sitesperhost": 3}}`), for the tests of refused hosts.
    """

    def __init__(self, base, hosts=3, kfactor=1, sitesperhost=2, heartbeat_s=2,
                 schema=CLUSTER_SCHEMA, overrides=None, elastic=None):
        self.base = Path(base)
        self.count = hosts
        self.kfactor = kfactor
        self.sitesperhost = sitesperhost
        self.heartbeat_s = heartbeat_s
        self.schema = Path(schema)
        self.hosts = []
        for i in range(hosts):
            settings = {"sitesperhost": sitesperhost, "kfactor": kfactor,
                        "heartbeat": heartbeat_s}
            if elastic is not None:
                settings["elastic"] = elastic  # (duration ms, throughput MB/s) of the rebalance
            settings.update((overrides or {}).get(i, {}))
            self.hosts.append(ClusterHost(index=i, base=self.base / ("host%d" % i),
                                          settings=settings))

    # -- set-up --------------------------------------------------------------

    @property
    def partition_count(self):
        return self.count * self.sitesperhost // (self.kfactor + 1)

    def client_port(self, i):
        return self.hosts[i].client_port

    def _pick_ports(self):
        for _ in range(20):
            ports = free_ports(3 * self.count)
            if all(10000 <= p <= 65535 for p in ports):
                break
        else:
            pytest.fail("no five-digit free ports (the --host order would depend on how the "
                        "server sorts): %r" % ports, pytrace=False)
        internal = sorted(ports[:self.count])
        for h, port in zip(self.hosts, internal):
            h.internal_port = port
        for h, i in zip(self.hosts, range(self.count, 3 * self.count, 2)):
            h.client_port, h.admin_port = ports[i], ports[i + 1]
        host_list = ",".join("%s:%d" % (LOCALHOST, h.internal_port) for h in self.hosts)
        for h in self.hosts:
            h.args = [str(voltctl_path()), "start", "--dir", str(h.root),
                      "--host", host_list, "--count", str(self.count),
                      "--internal", "%s:%d" % (LOCALHOST, h.internal_port),
                      "--client", "%s:%d" % (LOCALHOST, h.client_port),
                      "--admin", "%s:%d" % (LOCALHOST, h.admin_port),
                      "--http", "%s:0" % LOCALHOST]

    def _init_host(self, h, force=False):
        h.base.mkdir(parents=True, exist_ok=True)
        s = h.settings
        h.deployment_path.write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            "<deployment>\n"
            '  <cluster sitesperhost="%d" kfactor="%d"/>\n'
            '  <heartbeat timeout="%d"/>\n'
            "%s"
            "</deployment>\n" % (s["sitesperhost"], s["kfactor"], s["heartbeat"],
                                 '  <systemsettings><elastic duration="%d" throughput="%d"/></systemsettings>\n'
                                 % s["elastic"] if "elastic" in s else ""))
        args = [str(voltctl_path()), "init", "--dir", str(h.root), "--config",
                str(h.deployment_path), "--schema", str(self.schema)]
        if force:
            args.append("--force")
        with open(h.out_path, "ab") as out:
            out.write(("$ %s\n" % " ".join(args)).encode())
            out.flush()
            try:
                done = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.STDOUT, timeout=60)
            except subprocess.TimeoutExpired:
                pytest.fail("voltctl init of host %d did not finish within 60 s:\n%s"
                            % (h.index, tail(h.out_path)), pytrace=False)
        if done.returncode != 0:
            pytest.fail("voltctl init of host %d exited with %d:\n%s"
                        % (h.index, done.returncode, tail(h.out_path)), pytrace=False)

    def _launch(self, h):
        with open(h.out_path, "ab") as out:
            out.write(("$ %s\n" % " ".join(h.args)).encode())
            out.flush()
            h.launch_offset = out.tell()  # `output()` is the process's own words, not the command
            h.proc = subprocess.Popen(h.args, stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        h.launches += 1
        _running[h.proc.pid] = h.proc

    def launch(self, force_init=False):
        """Init every host and start them all at once, without waiting for anything."""
        self._pick_ports()
        for h in self.hosts:
            self._init_host(h, force=force_init)
        for h in self.hosts:
            self._launch(h)

    def start(self, timeout=START_TIMEOUT_S, attempts=3):
        """Init and start every host together; return once every one has printed the ready line.
        A host that lost one of its free ports to another process before binding it (its output
        says "in use") gets the whole cluster restarted on new ports, up to `attempts` times."""
        for attempt in range(attempts):
            self.launch(force_init=attempt > 0)
            problem = self._wait_all_ready(timeout)
            if problem is None:
                return self
            if attempt + 1 < attempts and any(
                    not h.alive() and "in use" in h.output().lower() for h in self.hosts):
                self.stop()
                continue
            self.fail("the cluster did not start: %s" % problem)

    def _wait_all_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for h in self.hosts:
                if not h.alive():
                    return "host %d exited with %s %s printing %r" % (
                        h.index, h.proc.returncode, "after" if h.ready() else "before",
                        READY_LINE)
            waiting = [h for h in self.hosts if not h.ready()]
            if not waiting:
                return None
            if time.monotonic() > deadline:
                return "hosts %s did not print %r within %d s" % (
                    [h.index for h in waiting], READY_LINE, timeout)
            time.sleep(0.05)  # polling the hosts' output for the ready line

    # -- faults ----------------------------------------------------------------

    def kill9(self, i):
        """SIGKILL host i by pid and reap it."""
        h = self.hosts[i]
        assert h.alive(), "host %d is not running (exit code %s):\n%s" % (
            i, h.proc.returncode if h.proc else None, self.describe())
        h.proc.kill()
        try:
            h.proc.wait(timeout=KILL_REAP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.fail("host %d (pid %d) still running %d s after SIGKILL"
                      % (i, h.pid, KILL_REAP_TIMEOUT_S))
        _running.pop(h.proc.pid, None)

    def sigstop(self, i):
        h = self.hosts[i]
        assert h.alive(), "host %d is not running:\n%s" % (i, self.describe())
        h.proc.send_signal(signal.SIGSTOP)

    def sigcont(self, i):
        h = self.hosts[i]
        if h.proc is not None and h.proc.poll() is None:
            h.proc.send_signal(signal.SIGCONT)

    def restart(self, i, timeout=REJOIN_TIMEOUT_S):
        """Run host i's very same start command again (same --dir: a rejoin) and return once it
        prints the ready line. Returns the time (monotonic) it was seen ready."""
        h = self.hosts[i]
        assert not h.alive(), "host %d is still running" % i
        self._launch(h)
        deadline = time.monotonic() + timeout
        while not h.ready():
            if not h.alive():
                if h.ready():
                    break
                self.fail("restarted host %d exited with %s before printing %r"
                          % (i, h.proc.returncode, READY_LINE))
            if time.monotonic() > deadline:
                self.fail("restarted host %d did not print %r within %d s"
                          % (i, READY_LINE, timeout))
            time.sleep(0.05)  # polling its output for the ready line
        return time.monotonic()

    def replace_with_fresh(self, i, via, timeout=REJOIN_TIMEOUT_S):
        """Start a brand-new host (fresh root, new ports) with `--add --host <internal port of
        host via>` in place of the dead host i, and return once it prints the ready line. The new
        host becomes hosts[i], so the helpers reach it by the same index."""
        old = self.hosts[i]
        assert not old.alive(), "host %d is still running" % i
        ports = free_ports(3)
        h = ClusterHost(index=i, base=self.base / ("host%d-fresh" % i), settings=dict(old.settings))
        h.internal_port, h.client_port, h.admin_port = ports
        h.args = [str(voltctl_path()), "start", "--dir", str(h.root), "--add",
                  "--host", "%s:%d" % (LOCALHOST, self.hosts[via].internal_port),
                  "--internal", "%s:%d" % (LOCALHOST, h.internal_port),
                  "--client", "%s:%d" % (LOCALHOST, h.client_port),
                  "--admin", "%s:%d" % (LOCALHOST, h.admin_port),
                  "--http", "%s:0" % LOCALHOST]
        self._init_host(h)
        self.hosts[i] = h
        self._launch(h)
        self.wait_for("the fresh host started with --add to print %r" % READY_LINE,
                      lambda: h.ready() or (not h.alive() and self.fail(
                          "the fresh host exited with %s:\n%s" % (h.proc.returncode, tail(h.out_path))))
                      or False, timeout, interval=0.05)
        return h

    def add_hosts(self, n, via, settings=None):
        """Start `n` brand-new hosts (fresh roots, new ports) with `--add --host <internal port of
        each host in via>`, without waiting: they join the cluster (the elastic join admits K+1
        together). They are appended to `hosts` (indices count..count+n-1) and `count` grows, so
        the helpers reach them by index. Returns the new indices."""
        added = []
        for _ in range(n):
            i = len(self.hosts)
            ports = free_ports(3)
            h = ClusterHost(index=i, base=self.base / ("host%d" % i),
                            settings=dict(settings or self.hosts[0].settings))
            h.internal_port, h.client_port, h.admin_port = ports
            h.args = [str(voltctl_path()), "start", "--dir", str(h.root), "--add",
                      "--host", ",".join("%s:%d" % (LOCALHOST, self.hosts[v].internal_port)
                                         for v in via),
                      "--internal", "%s:%d" % (LOCALHOST, h.internal_port),
                      "--client", "%s:%d" % (LOCALHOST, h.client_port),
                      "--admin", "%s:%d" % (LOCALHOST, h.admin_port),
                      "--http", "%s:0" % LOCALHOST]
            self._init_host(h)
            self.hosts.append(h)
            self._launch(h)
            added.append(i)
        self.count = len(self.hosts)
        return added

    def wait_ready(self, indices, timeout=START_TIMEOUT_S):
        """Return once every host in `indices` has printed the ready line; fails the test if one
        exits first or the time runs out."""
        def check():
            for i in indices:
                h = self.hosts[i]
                if not h.ready() and not h.alive():
                    self.fail("host %d exited with %s before printing %r"
                              % (i, h.proc.returncode, READY_LINE))
            return all(self.hosts[i].ready() for i in indices)
        self.wait_for("hosts %s to print %r" % (list(indices), READY_LINE), check, timeout,
                      interval=0.05)

    def wait_exit(self, i, timeout):
        """Host i's exit code, once it exits within `timeout` seconds; fails the test otherwise."""
        h = self.hosts[i]
        try:
            return h.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail("host %d (pid %d) still running after %d s" % (i, h.pid, timeout))

    def stop(self):
        """Kill every host by pid (SIGCONT first, in case a test left it stopped) and reap it."""
        for h in self.hosts:
            if h.proc is None:
                continue
            if h.proc.poll() is None:
                try:
                    h.proc.send_signal(signal.SIGCONT)
                    h.proc.kill()
                except ProcessLookupError:
                    pass
                try:
                    h.proc.wait(timeout=KILL_REAP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    pass  # conftest's atexit hook tries again
            if h.proc.poll() is not None:
                _running.pop(h.proc.pid, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- diagnosis ---------------------------------------------------------------

    def describe(self, lines=LOG_TAIL_LINES):
        """Each host's state and the tail of its output, for failure messages."""
        parts = []
        for h in self.hosts:
            state = ("not started" if h.proc is None else "running, pid %d" % h.pid
                     if h.alive() else "exited with %s" % h.proc.returncode)
            parts.append("--- host %d (%s; client port %d, internal port %d; log %s) ---\n%s"
                         % (h.index, state, h.client_port, h.internal_port, h.host_log,
                            tail(h.out_path, lines)))
        return "\n".join(parts)

    def fail(self, message):
        pytest.fail("%s\n%s" % (message, self.describe()), pytrace=False)

    def assert_alive(self, indices):
        dead = [i for i in indices if not self.hosts[i].alive()]
        if dead:
            self.fail("hosts %s died" % dead)

    def wait_for(self, what, check, timeout, interval=0.1):
        """Poll `check()` until it returns something truthy (returned) or `timeout` seconds pass
        (the test fails with `what` -- a string, or a callable giving one at that moment -- the
        last value or exception, and every host's output)."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                value = check()
                if value:
                    return value
                last = "returned %r" % (value,)
            except AssertionError as e:
                last = "AssertionError: %s" % e
            except TestTimeout:
                raise  # the test's own bound (SIGALRM) is not a failed check
            except Exception as e:  # a refused connection, a failed call: keep polling
                last = "%s: %s" % (type(e).__name__, e)
            if time.monotonic() > deadline:
                self.fail("waited %.0f s for %s; last check %s"
                          % (timeout, what() if callable(what) else what, last))
            time.sleep(interval)  # polling with a deadline

    # -- questions to one host -------------------------------------------------------

    def connect(self, i, timeout=10):
        return connect(self.client_port(i), timeout)

    def ask(self, i, proc, types, params, timeout=10):
        """One successful call through host i (a fresh connection); raises AssertionError on a
        failure status so `wait_for` can poll it."""
        fser = self.connect(i, timeout)
        try:
            response = call(fser, proc, types, params, timeout)
        finally:
            fser.close()
        assert response.status == SUCCESS, "%s through host %d: %s" % (proc, i, describe(response))
        return response

    def topology(self, via):
        """{partition: voltclient.PartitionInfo} from @Statistics TOPO through host `via`
        (the multi-partition pseudo-partition left out)."""
        response = self.ask(via, "@Statistics", [STRING, INTEGER], ["TOPO", 0])
        partitions, _, _ = _parse_topology(response.tables)
        return {p: info for p, info in partitions.items() if p != MP_INIT_PID}

    def host_ids(self, via):
        """{host index: host id}, from @SystemInformation OVERVIEW through host `via`, matched
        by client port. Only hosts the cluster reports are in it."""
        response = self.ask(via, "@SystemInformation", [STRING], ["OVERVIEW"])
        by_port = {info.client_port: host_id
                   for host_id, info in _parse_overview(response.tables[0]).items()}
        return {h.index: by_port[h.client_port] for h in self.hosts if h.client_port in by_port}

    def all_host_ids(self, via, timeout=10):
        """`host_ids(via)`, once OVERVIEW lists every host (polled: a rejoined host may take a
        moment to appear)."""
        return self.wait_for("OVERVIEW through host %d to list all %d hosts" % (via, self.count),
                             lambda: (lambda m: m if len(m) == self.count else None)(
                                 self.host_ids(via)), timeout)

    def ksafety(self, via):
        """{partition: MISSING_REPLICA} from @Statistics KSAFETY through host `via`, after
        checking its columns and that it has one row per partition."""
        response = self.ask(via, "@Statistics", [STRING, INTEGER], ["KSAFETY", 0])
        table = response.tables[0]
        names = [c.name.upper() for c in table.columns]
        for column in ["TIMESTAMP", "HOST_ID", "HOSTNAME", "PARTITION_ID", "MISSING_REPLICA"]:
            assert column in names, "@Statistics KSAFETY has no %s column: %s" % (column, names)
        pid_i, missing_i = names.index("PARTITION_ID"), names.index("MISSING_REPLICA")
        rows = [(int(r[pid_i]), int(r[missing_i])) for r in table.tuples]
        assert len({p for p, _ in rows}) == len(rows), "KSAFETY repeats a partition: %r" % rows
        return dict(rows)

    def partition_keys(self, via, type_name):
        """{partition: key} from @GetPartitionKeys (type_name INTEGER or STRING)."""
        response = self.ask(via, "@GetPartitionKeys", [STRING], [type_name])
        table = response.tables[0]
        names = [c.name.upper() for c in table.columns]
        pid_i, key_i = names.index("PARTITION_ID"), names.index("PARTITION_KEY")
        keys = {int(r[pid_i]): r[key_i] for r in table.tuples}
        assert len(keys) == self.partition_count, \
            "@GetPartitionKeys %s: %d partitions, expected %d: %r" % (
                type_name, len(keys), self.partition_count, keys)
        return keys

    def read_all_keys(self, via, string_keys, timeout=20):
        """Every KV key, read one partition at a time (KV_KEYS, single-partition) through host
        `via`, polling each partition until it answers or `timeout` seconds pass."""
        keys = set()
        for partition, pkey in sorted(string_keys.items()):
            response = self.wait_for(
                "partition %d to answer KV_KEYS through host %d" % (partition, via),
                lambda: self.ask(via, "KV_KEYS", [STRING], [pkey], timeout=timeout),
                timeout)
            keys.update(row[0] for row in response.tables[0].tuples)
        return keys

    def status(self, via, json_output=False, timeout=30):
        """(exit code, stdout, stderr) of `voltctl status --servers 127.0.0.1:C_via [--json]`."""
        args = [str(voltctl_path()), "status", "--servers",
                "%s:%d" % (LOCALHOST, self.client_port(via))]
        if json_output:
            args.append("--json")
        try:
            done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail("voltctl status did not finish within %d s" % timeout)
        return (done.returncode, done.stdout.decode(errors="replace"),
                done.stderr.decode(errors="replace"))

    def assert_status(self, via, live, missing, timeout=10):
        """`voltctl status` through host `via` says "<live> live hosts, <missing> missing" and its
        --json has liveHosts == live and missingHosts == missing (polled: membership may take a
        moment to settle)."""
        line = "%d live hosts, %d missing" % (live, missing)

        def check():
            code, out, err = self.status(via)
            assert code == 0 and line in out, "exit code %d, wanted %r in:\n%s%s" % (
                code, line, out, err)
            code, out, err = self.status(via, json_output=True)
            assert code == 0, "voltctl status --json exit code %d:\n%s%s" % (code, out, err)
            doc = json.loads(out)
            got = (find_key(doc, "liveHosts"), find_key(doc, "missingHosts"))
            assert got == (live, missing), \
                "status --json liveHosts, missingHosts = %r, wanted %r" % (got, (live, missing))
            return True
        self.wait_for("voltctl status through host %d to report %r" % (via, line), check, timeout)


# -- legacy-client helpers -----------------------------------------------------------------

def connect(port, timeout=10):
    """A logged-in legacy connection to 127.0.0.1:port with bounded connect and call timeouts."""
    return FastSerializer(LOCALHOST, port, connect_timeout=timeout, procedure_timeout=timeout,
                          default_timeout=timeout)


def call(fser, proc, types, params, timeout=10):
    """One call on a legacy connection. Never raises for a lost connection or a timeout: those
    come back as a response with status -1 and `tables` None (`answered` tells them apart from a
    server's answer, which always has a table list)."""
    try:
        return VoltProcedure(fser, proc, types).call(params, timeout=timeout)
    except OSError as e:  # the send failed: the connection is gone
        response = VoltResponse(None)
        response.statusString = "send failed: %s" % e
        return response


def answered(response):
    return response.tables is not None


def close_quietly(fser):
    try:
        fser.close()
    except Exception:
        pass


def find_key(doc, key):
    """The value of the first `key` anywhere in a parsed JSON document, or None."""
    if isinstance(doc, dict):
        if key in doc:
            return doc[key]
        values = doc.values()
    elif isinstance(doc, list):
        values = doc
    else:
        return None
    for v in values:
        found = find_key(v, key)
        if found is not None:
            return found
    return None


def leader_indices(topology, ids):
    """{partition: host index of its leader} given {index: host id}."""
    index_of = {host_id: i for i, host_id in ids.items()}
    return {p: index_of.get(info.leader_host_id) for p, info in topology.items()}


def open_probes(port, int_keys):
    """One legacy connection per partition to host port `port`, opened ahead of a fault so the
    probes' timing does not include connecting."""
    conns = {}
    try:
        for p in int_keys:
            conns[p] = connect(port, timeout=5)
    except BaseException:
        for fser in conns.values():
            close_quietly(fser)
        raise
    return conns


def probe_partitions(conns, port, int_keys, t0, deadline):
    """Probe every partition in parallel, one thread and connection each (`open_probes`):
    PROBE.upsert with the partition's INTEGER key until it succeeds or `deadline` passes.
    Returns {partition: (seconds from t0 to the first success, or None; the last failure)}."""
    results = {}

    def probe(p):
        fser, last, n = conns[p], None, 0
        try:
            while time.monotonic() < deadline:
                n += 1
                if fser is None:
                    try:
                        fser = connect(port, timeout=2)
                    except Exception as e:
                        last = "reconnect: %s" % e
                        time.sleep(0.1)  # polling: retry the connection until the deadline
                        continue
                response = call(fser, "PROBE.upsert", [INTEGER, BIGINT], [int_keys[p], n],
                                timeout=max(0.5, deadline - time.monotonic()))
                if response.status == SUCCESS:
                    results[p] = (time.monotonic() - t0, last)
                    return
                last = describe(response)
                if not answered(response):
                    close_quietly(fser)
                    fser = None
                time.sleep(0.02)  # polling: the partition refused, ask again until the deadline
            results[p] = (None, last)
        finally:
            if fser is not None:
                close_quietly(fser)

    threads = [threading.Thread(target=probe, args=(p,), daemon=True) for p in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 15)
    return {p: results.get(p, (None, "probe thread did not finish")) for p in int_keys}


class KeyWriter(threading.Thread):
    """Background load: inserts unique keys (`<prefix>-<n>`) with KV.insert through legacy
    connections to the given client ports, round-robin, paced to at most `rate` per second, and
    records which inserts were acknowledged (status SUCCESS), when, and through which port.

    A connection that breaks or times out is dropped and redialed with a backoff from `redial_s`; a
    call that got no answer or a failure status is simply not acknowledged (it may or may not
    have been applied), and the writer moves on to the next key. A bug in the writer itself is
    kept in `crash` for the test to report."""

    def __init__(self, ports, prefix="w", rate=400, call_timeout=10, redial_s=0.5):
        super().__init__(name="cluster-key-writer", daemon=True)
        self.ports = list(ports)
        self.prefix = prefix
        self.rate = rate
        self.call_timeout = call_timeout
        self.redial_s = redial_s
        self.acks = []            # (monotonic time, port, key), appended by this thread only
        self.failures = []        # (monotonic time, port, description)
        self.crash = None
        self._halting = threading.Event()
        self._conns = {}
        self._next_dial = {p: 0.0 for p in self.ports}
        self._backoff = {p: 0.0 for p in self.ports}

    def halt(self):
        """Stop the thread and wait (bounded) for it; never raises (for `finally` blocks)."""
        self._halting.set()
        if self.ident is not None:
            self.join(self.call_timeout + 5)

    def stop(self):
        """`halt`, then fail if the thread is still running or crashed."""
        self.halt()
        assert not self.is_alive(), "the writer thread did not stop"
        assert self.crash is None, "the writer crashed: %r" % (self.crash,)

    def acked(self):
        return {key for _, _, key in list(self.acks)}

    def acks_since(self, t, port=None):
        return sum(1 for at, p, _ in list(self.acks) if at >= t and (port is None or p == port))

    def acks_between(self, t1, t2):
        return sum(1 for at, _, _ in list(self.acks) if t1 <= at <= t2)

    def summary(self):
        return "%d acknowledged, %d failed; last failures: %r" % (
            len(self.acks), len(self.failures), self.failures[-5:])

    def _connection(self, port):
        fser = self._conns.get(port)
        if fser is not None:
            return fser
        if time.monotonic() < self._next_dial[port]:
            return None
        try:
            fser = connect(port, timeout=2)
        except Exception as e:
            # Back off (up to 8 redial periods) so a host that is down, or slow to log in,
            # does not starve the calls to the others.
            self._backoff[port] = min(max(self.redial_s, 2 * self._backoff[port]),
                                      8 * self.redial_s)
            self._next_dial[port] = time.monotonic() + self._backoff[port]
            self.failures.append((time.monotonic(), port, "connect: %s" % e))
            return None
        self._backoff[port] = 0.0
        self._conns[port] = fser
        return fser

    def run(self):
        try:
            n, turn = 0, 0
            next_at = time.monotonic()
            while not self._halting.is_set():
                delay = next_at - time.monotonic()
                if delay > 0 and self._halting.wait(delay):  # pacing to `rate`
                    break
                next_at = max(next_at + 1.0 / self.rate, time.monotonic() - 1.0)
                port = None
                for _ in range(len(self.ports)):
                    candidate = self.ports[turn % len(self.ports)]
                    turn += 1
                    if self._connection(candidate) is not None:
                        port = candidate
                        break
                if port is None:
                    continue  # no host reachable right now: try again on the next tick
                key = "%s-%08d" % (self.prefix, n)
                n += 1
                response = call(self._conns[port], "KV.insert", [STRING, VARBINARY],
                                [key, key.encode()], timeout=self.call_timeout)
                now = time.monotonic()
                if response.status == SUCCESS:
                    self.acks.append((now, port, key))
                    continue
                self.failures.append((now, port, describe(response)))
                if not answered(response):
                    close_quietly(self._conns.pop(port))
        except BaseException as e:
            self.crash = e
        finally:
            for fser in self._conns.values():
                close_quietly(fser)
            self._conns.clear()


def output_mentions(text, *words):
    """True if `text` contains every one of `words`, ignoring case."""
    lowered = text.lower()
    return all(w.lower() in lowered for w in words)
