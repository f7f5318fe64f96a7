"""The topology-aware `VoltClient` (voltdbclient 16.1.0) across a kill -9 and a rejoin.

3 hosts, K=1. One VoltClient, seeded with host 1's client port only, must discover all three
hosts, connect to each and subscribe for topology pushes. A load thread keeps sending batches of
8 `call_async` upserts through it the whole time. The start-up coordinator (host 0; the
failover test kills another host) is killed with kill -9 and later restarted with its very same
command. Checked:

- routing: before the kill, after the failover and after the rejoin, once the client's
  leaders equal the server's TOPO, a batch of single-partition calls goes only to the
  connection of each key's partition leader (`affinity_stats`, per host id);
- pushes: after the kill the client learns the new leaders from a topology push (or, when its
  subscription was on the killed host, it subscribes again on a survivor); after the rejoin a
  push lists the rejoined host among the replicas, and the client connects to it again;
- calls keep succeeding: every failed call completes within heartbeat + 3 s of the kill (calls
  in flight to the killed host, calls to partitions waiting for their new leader); none fail
  during or after the rejoin; calls succeed after the failover, during the rejoin and after it;
- every acknowledged upsert is readable at the end.
"""

import threading
import time

import pytest
from voltclient import MP_INIT_PID, VoltClient, VoltType, _parse_topology

from support import SUCCESS, describe

pytestmark = pytest.mark.cluster

HOSTS = 3
HEARTBEAT_S = 2
FAILOVER_BOUND_S = HEARTBEAT_S + 2
FAILURE_WINDOW_S = HEARTBEAT_S + 3   # failed calls must complete this soon after the kill
LOAD_RATE = 200                      # calls per second, at most
BATCH = 8
KEYS_PER_PARTITION = 10              # per affinity check


class WatchingClient(VoltClient):
    """A VoltClient that records the topology pushes it applies and its confirmed
    subscriptions (it changes nothing about what the client does)."""

    def __init__(self, *args, **kwargs):
        self.pushes = []           # (monotonic time, {partition: PartitionInfo})
        self.subscriptions = []    # (monotonic time, host id of the subscribed connection)
        super().__init__(*args, **kwargs)

    def _apply_topology_push(self, conn, response):
        super()._apply_topology_push(conn, response)
        tables = response.tables or []
        if response.status == SUCCESS and len(tables) >= 2:
            partitions, _, _ = _parse_topology(tables)
            self.pushes.append((time.monotonic(), {p: i for p, i in partitions.items()
                                                   if p != MP_INIT_PID}))

    def _on_subscribe_response(self, conn, future):
        super()._on_subscribe_response(conn, future)
        try:
            confirmed = future.result().status == SUCCESS
        except Exception:
            confirmed = False
        if confirmed:
            self.subscriptions.append((time.monotonic(), conn._fser.hostId))

    def live_connections(self):
        """{host id: (host, port)} of the open connections the client routes to."""
        with self._conn_lock:
            return {c._fser.hostId: (c.host, c.port) for c in self._connections
                    if not c._closed and (c.host, c.port) in self._targets}

    def affinity_by_host(self):
        with self._conn_lock:
            conns = list(self._connections)
        counts = {}
        for c in conns:
            counts[c._fser.hostId] = counts.get(c._fser.hostId, 0) + c.affinity_sends
        return counts

    def leaders(self):
        return {p: info.leader_host_id for p, info in self.topology.partitions.items()
                if p != MP_INIT_PID}


class ClientLoad(threading.Thread):
    """Batches of `BATCH` call_async upserts of unique keys, paced to `rate` calls per second,
    recording acknowledged keys and failures with the time each call completed (a done
    callback, not when this thread got round to looking). `pause()` returns once no call of the
    thread is in flight."""

    def __init__(self, client, prefix, rate=LOAD_RATE):
        super().__init__(name="cluster-client-load", daemon=True)
        self.client = client
        self.prefix = prefix
        self.rate = rate
        self.acks = []       # (time, key)
        self.failures = []   # (time, description)
        self.crash = None
        self._halting = threading.Event()
        self._going = threading.Event()
        self._going.set()
        self._paused = threading.Event()

    def pause(self, timeout=30):
        self._going.clear()
        assert self._paused.wait(timeout), "the load thread did not pause"

    def resume(self):
        self._paused.clear()
        self._going.set()

    def halt(self):
        self._halting.set()
        self._going.set()
        if self.ident is not None:
            self.join(30)

    def stop(self):
        self.halt()
        assert not self.is_alive(), "the load thread did not stop"
        assert self.crash is None, "the load thread crashed: %r" % (self.crash,)

    def acks_between(self, t1, t2=float("inf")):
        return sum(1 for t, _ in list(self.acks) if t1 <= t <= t2)

    def summary(self):
        return "%d acknowledged, %d failed; last failures %r" % (
            len(self.acks), len(self.failures), self.failures[-5:])

    def run(self):
        try:
            n = 0
            next_at = time.monotonic()
            while not self._halting.is_set():
                if not self._going.is_set():
                    self._paused.set()
                    self._going.wait()
                    continue
                delay = next_at - time.monotonic()
                if delay > 0 and self._halting.wait(delay):  # pacing to `rate`
                    break
                next_at = max(next_at + BATCH / self.rate, time.monotonic() - 1.0)
                calls, done_at = [], {}
                for _ in range(BATCH):
                    key = "%s-%08d" % (self.prefix, n)
                    n += 1
                    try:
                        future = self.client.call_async(
                            "KV.upsert", [VoltType.STRING, VoltType.VARBINARY],
                            [key, key.encode()], timeout=10)
                    except Exception as e:
                        self.failures.append((time.monotonic(), "send: %r" % (e,)))
                        continue
                    # When each call completed (the reader thread runs this; cheap).
                    future.add_done_callback(
                        lambda f, key=key: done_at.__setitem__(key, time.monotonic()))
                    calls.append((key, future))
                for key, future in calls:
                    try:
                        response = future.result(timeout=20)
                    except Exception as e:
                        self.failures.append((done_at.get(key, time.monotonic()), repr(e)))
                        continue
                    at = done_at.get(key, time.monotonic())
                    if response.status == SUCCESS:
                        self.acks.append((at, key))
                    else:
                        self.failures.append((at, describe(response)))
        except BaseException as e:
            self.crash = e


def keys_by_partition(client, tag, per_partition, partitions):
    keys = {p: [] for p in partitions}
    i = 0
    while any(len(v) < per_partition for v in keys.values()):
        assert i < 100000, "could not find keys for every partition: %r" % {
            p: len(v) for p, v in keys.items()}
        key = "%s-%d" % (tag, i)
        i += 1
        p = client.get_partition_for_parameter(VoltType.STRING, key)
        if len(keys[p]) < per_partition:
            keys[p].append(key)
    return keys


def check_affinity(cluster, client, load, via, tag, attempts=3):
    """With the load paused: once the client's leaders equal the server's, every upsert of a
    batch goes to its partition leader's connection. A leader that moves during the batch
    (the server's TOPO differs afterwards) retries the check."""
    load.pause()
    try:
        for attempt in range(attempts):
            def settled():
                server = {p: i.leader_host_id for p, i in cluster.topology(via).items()}
                assert client.leaders() == server, "client leaders %r, server %r" % (
                    client.leaders(), server)
                missing = set(server.values()) - set(client.live_connections())
                assert not missing, "no client connection to leader hosts %r" % missing
                return server
            leaders = cluster.wait_for("the client (%s) to route to the server's leaders" % tag,
                                       settled, 20)
            keys = keys_by_partition(client, "%s-%d" % (tag, attempt), KEYS_PER_PARTITION,
                                     sorted(leaders))
            expected = {}
            for p, ks in keys.items():
                expected[leaders[p]] = expected.get(leaders[p], 0) + len(ks)
            before = client.affinity_by_host()
            for ks in keys.values():
                for k in ks:
                    response = client.call("KV.upsert", [VoltType.STRING, VoltType.VARBINARY],
                                           [k, b"affinity"], timeout=10)
                    assert response.status == SUCCESS, "%s: %s" % (k, describe(response))
            after = client.affinity_by_host()
            if {p: i.leader_host_id for p, i in cluster.topology(via).items()} != leaders:
                continue  # a leader moved meanwhile: measure again
            sent = {h: after.get(h, 0) - before.get(h, 0) for h in set(after) | set(before)}
            sent = {h: n for h, n in sent.items() if n}
            assert sent == expected, (
                "%s: affinity sends by host id %r, expected (leaders %r) %r"
                % (tag, sent, leaders, expected))
            return
        cluster.fail("%s: leaders kept moving during %d affinity checks" % (tag, attempts))
    finally:
        load.resume()


@pytest.mark.timeout(150)
def test_voltclient_across_kill9_and_rejoin(cluster_factory):
    cluster = cluster_factory(hosts=HOSTS, kfactor=1, sitesperhost=2, heartbeat_s=HEARTBEAT_S)
    cluster.start()
    everyone = list(range(HOSTS))
    victim, seed = 0, 1
    survivors = [i for i in everyone if i != victim]
    ids = cluster.all_host_ids(via=seed)
    topology = cluster.topology(via=seed)
    led = sorted({info.leader_host_id for info in topology.values()})
    assert ids[victim] in led, (
        "leaders must be spread over the hosts (3 partitions, 3 hosts), so that the start-up "
        "coordinator (id %d) leads one: TOPO %r" % (ids[victim], topology))

    client = WatchingClient(hosts=["127.0.0.1"], port=cluster.client_port(seed),
                            connect_timeout=5, procedure_timeout=10, max_backoff=1.0)
    load = None
    try:
        cluster.wait_for("the client to connect to all 3 hosts and subscribe",
                         lambda: (set(client.live_connections()) == set(ids.values())
                                  and client.subscriptions), 20)
        subscribed_on_victim = client.subscriptions[-1][1] == ids[victim]

        load = ClientLoad(client, "c")
        load.start()
        cluster.wait_for(lambda: "100 acknowledged calls (%s)" % load.summary(),
                         lambda: len(load.acks) >= 100, 30)
        check_affinity(cluster, client, load, seed, "before")

        # kill -9 the coordinator.
        t_kill = time.monotonic()
        cluster.kill9(victim)
        cluster.assert_alive(survivors)
        cluster.wait_for("the client to see new leaders for the dead host's partitions",
                         lambda: (set(client.leaders()) == set(topology)
                                  and ids[victim] not in client.leaders().values()),
                         FAILOVER_BOUND_S + 5)
        if subscribed_on_victim:
            cluster.wait_for("the client to subscribe again on a survivor",
                             lambda: [s for s in client.subscriptions
                                      if s[0] > t_kill and s[1] != ids[victim]], 10)
        else:
            moved = [t for t, parts in client.pushes
                     if t > t_kill and ids[victim] not in
                     {i.leader_host_id for i in parts.values()}]
            assert moved, ("no topology push after the kill moved the leaders off host id %d; "
                           "pushes: %r" % (ids[victim], client.pushes[-5:]))
        assert ids[victim] not in client.live_connections()
        check_affinity(cluster, client, load, seed, "failover")
        t_after_failover = time.monotonic()
        cluster.wait_for(lambda: "acknowledged calls after the failover (%s)" % load.summary(),
                         lambda: load.acks_between(t_after_failover) >= 50, 20)

        # Rejoin, with the load running.
        t_restart = time.monotonic()
        t_ready = cluster.restart(victim)
        assert load.acks_between(t_restart, t_ready) > 0, \
            "no call acknowledged during the rejoin: %s" % load.summary()
        rejoined_id = cluster.all_host_ids(via=seed)[victim]
        cluster.wait_for("a topology push listing the rejoined host (id %d) as a replica"
                         % rejoined_id,
                         lambda: [t for t, parts in client.pushes if t > t_restart and any(
                             rejoined_id in i.replica_host_ids for i in parts.values())], 20)
        victim_address = ("127.0.0.1", cluster.client_port(victim))
        cluster.wait_for("the client to connect to the rejoined host again",
                         lambda: client.live_connections().get(rejoined_id) == victim_address, 20)
        check_affinity(cluster, client, load, seed, "rejoined")
        t_after_rejoin = time.monotonic()
        cluster.wait_for(lambda: "acknowledged calls after the rejoin (%s)" % load.summary(),
                         lambda: load.acks_between(t_after_rejoin) >= 50, 20)
        load.stop()

        late = [(round(t - t_kill, 2), what) for t, what in load.failures
                if not t_kill <= t <= t_kill + FAILURE_WINDOW_S]
        assert not late, ("calls may fail only within %d s of the kill; %d of %d failures were "
                          "outside it (seconds after the kill, failure): %r"
                          % (FAILURE_WINDOW_S, len(late), len(load.failures), late[:10]))

        acked = {k for _, k in load.acks}
        readable = set()
        for p, pkey in cluster.partition_keys(seed, "STRING").items():
            response = client.call("KV_KEYS", [VoltType.STRING], [pkey], timeout=20)
            assert response.status == SUCCESS, "KV_KEYS partition %d: %s" % (p, describe(response))
            readable.update(row[0] for row in response.tables[0].tuples)
        missing = acked - readable
        assert not missing, "%d of %d acknowledged upserts missing, e.g. %r" % (
            len(missing), len(acked), sorted(missing)[:10])
        cluster.assert_alive(everyone)
    finally:
        if load is not None:
            load.halt()
        client.close()
