"""The elastic join survives the death of any one host mid-rebalance (K=1).

3 hosts (K=1, sitesperhost 2: 3 partitions) hold a static table (STORE, loaded by `voltctl bench
kv`, never written afterwards) and take a writer's unique keys (KV). Two fresh hosts start with
`--add`; as soon as the first range has moved, one host is killed with SIGKILL:

- a joiner (the join goes on K-safe-degraded; the joiner, restarted, rejoins once it is done);
- an old host that leads a partition ranges move out of (its replica takes over the moves);
- the metadata coordinator (the new one carries on from the metadata log).

Throughout, a checker reads `SELECT COUNT(*) FROM STORE` through a surviving host: every answer
is the loaded count (a row is never counted twice or missed while its range moves). Afterwards:
the join completed, TOPO has 5 partitions, every acknowledged key is read back exactly once, and
the killed host, restarted with its own command, rejoins with every replica live again.
"""

import subprocess
import threading
import time

import pytest

from cluster import KeyWriter, call, connect, close_quietly
from conftest import voltctl_path
from support import STRING, SUCCESS, describe
from test_cluster_join import JOIN_SCHEMA, assert_all_keys

pytestmark = pytest.mark.cluster

STORE_KEYS = 30000
VALUE_BYTES = 300          # about 9 MB in STORE, half of which moves: seconds at 1 MB/s
JOIN_TIMEOUT_S = 150


class CountChecker(threading.Thread):
    """Reads SELECT COUNT(*) FROM STORE through one port over and over; keeps every answer that
    is not `expected` (a violation) and counts the right ones."""

    def __init__(self, port, expected):
        super().__init__(name="store-count-checker", daemon=True)
        self.port, self.expected = port, expected
        self.right, self.wrong, self.errors = 0, [], 0
        self._halt = threading.Event()

    def run(self):
        fser = None
        while not self._halt.is_set():
            if fser is None:
                try:
                    fser = connect(self.port, timeout=2)
                except Exception:
                    self.errors += 1
                    self._halt.wait(0.2)  # the host is not answering yet: retry
                    continue
            r = call(fser, "@AdHoc", [STRING], ["SELECT COUNT(*) FROM STORE"], timeout=10)
            if r.status == SUCCESS:
                n = r.tables[0].tuples[0][0]
                if n == self.expected:
                    self.right += 1
                else:
                    self.wrong.append(n)
            else:
                self.errors += 1
                if r.tables is None:
                    close_quietly(fser)
                    fser = None
            self._halt.wait(0.05)  # pacing the reads
        if fser is not None:
            close_quietly(fser)

    def halt(self):
        self._halt.set()
        self.join(15)


def load_store(cluster, via):
    args = [str(voltctl_path()), "bench", "kv", "--servers",
            ",".join("127.0.0.1:%d" % cluster.client_port(i) for i in via),
            "--keys", str(STORE_KEYS), "--value-bytes", str(VALUE_BYTES),
            "--duration", "0.5", "--warmup", "0", "--get-ratio", "1"]
    done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=180)
    assert done.returncode == 0, "bench kv failed: %s %s" % (done.stdout[-2000:], done.stderr[-2000:])


def coordinator_index(cluster):
    """The host whose log says it admitted the joiners (the metadata coordinator at admission)."""
    for h in cluster.hosts:
        if "Join: Admitting hosts" in h.output():
            return h.index
    return None


def first_move_done(cluster):
    return any("move 0 of the join has moved" in h.output() for h in cluster.hosts[:3] if h.alive())


@pytest.mark.timeout(420)
@pytest.mark.parametrize("victim", ["joiner", "source_leader", "coordinator"])
def test_a_host_killed_mid_rebalance_loses_nothing(cluster_factory, victim):
    cluster = cluster_factory(hosts=3, kfactor=1, sitesperhost=2, heartbeat_s=2,
                              schema=JOIN_SCHEMA, elastic=(50, 1))
    cluster.start()
    load_store(cluster, [0, 1, 2])
    added = cluster.add_hosts(2, via=[0, 1, 2])
    cluster.wait_for("the first range to move", lambda: first_move_done(cluster), 90, interval=0.02)
    coordinator = coordinator_index(cluster)
    assert coordinator is not None, "no host logged the admission"
    if victim == "joiner":
        kill = added[1]
    elif victim == "coordinator":
        kill = coordinator
    else:
        # An old host other than the coordinator: every old partition is a source of moves.
        kill = [i for i in (2, 1, 0) if i != coordinator][0]
    survivors = [i for i in range(5) if i != kill]
    old_survivors = [i for i in survivors if i < 3]
    writer = KeyWriter([cluster.client_port(i) for i in old_survivors], rate=150)
    checker = CountChecker(cluster.client_port(old_survivors[0]), STORE_KEYS)
    writer.start()
    checker.start()
    try:
        time.sleep(0.3)
        cluster.kill9(kill)
        killed_at = time.monotonic()
        cluster.wait_ready([i for i in added if i != kill], timeout=90)
        cluster.wait_for("the join to complete after host %d was killed" % kill,
                         lambda: any("the join is complete" in cluster.hosts[i].output() for i in old_survivors),
                         JOIN_TIMEOUT_S)
        join_done = time.monotonic() - killed_at
        time.sleep(1)
    finally:
        writer.halt()
        checker.halt()
    assert writer.crash is None, writer.crash
    assert not checker.wrong, "COUNT(*) FROM STORE answered %r (expected %d; %d right answers)" % (
        checker.wrong[:10], STORE_KEYS, checker.right)
    assert checker.right > 0, "the count checker never got an answer"
    via = old_survivors[0]
    topology = cluster.wait_for("TOPO to show 5 partitions",
                                lambda: (lambda t: t if len(t) == 5 else None)(cluster.topology(via)), 20)
    assert sorted(topology) == [0, 1, 2, 3, 4]
    assert_all_keys(cluster, via, writer.acked())
    r = cluster.ask(via, "@AdHoc", [STRING], ["SELECT COUNT(*) FROM STORE"])
    assert r.tables[0].tuples[0][0] == STORE_KEYS
    # The killed host comes back with its own command and rejoins; every replica is live again.
    cluster.restart(kill, timeout=120)
    cluster.wait_for("KSAFETY to show every replica live",
                     lambda: sum(cluster.ksafety(via).values()) == 0, 30)
    assert_all_keys(cluster, kill, writer.acked())
    print("victim %s (host %d): join completed %.1f s after the kill; %d acks, %d failed calls, "
          "%d right counts" % (victim, kill, join_done, len(writer.acks), len(writer.failures), checker.right))


@pytest.mark.timeout(300)
def test_schema_changes_are_refused_while_the_cluster_grows(cluster_factory):
    """A schema change during a join is refused with a message that says why; once the join is
    complete the same change succeeds and reaches the new hosts."""
    cluster = cluster_factory(hosts=3, kfactor=1, sitesperhost=2, heartbeat_s=2,
                              schema=JOIN_SCHEMA, elastic=(50, 1))
    cluster.start()
    load_store(cluster, [0, 1, 2])
    added = cluster.add_hosts(2, via=[0])
    cluster.wait_for("the first range to move", lambda: first_move_done(cluster), 90, interval=0.02)
    ddl = "CREATE TABLE LATE (ID INTEGER NOT NULL, PRIMARY KEY (ID));"
    fser = cluster.connect(0)
    try:
        r = call(fser, "@AdHoc", [STRING], [ddl])
    finally:
        close_quietly(fser)
    assert r.status != SUCCESS, "a schema change succeeded during the join"
    assert "elastic join" in (r.statusString or ""), describe(r)
    cluster.wait_ready(added, timeout=90)
    cluster.wait_for("the join to complete", lambda: any("the join is complete" in cluster.hosts[i].output() for i in range(3)),
                     JOIN_TIMEOUT_S)
    cluster.ask(0, "@AdHoc", [STRING], [ddl])
    for via in added:
        r = cluster.wait_for("LATE to be queryable through host %d" % via,
                             lambda: cluster.ask(via, "@AdHoc", [STRING], ["SELECT COUNT(*) FROM LATE"]), 20)
        assert r.tables[0].tuples[0][0] == 0
