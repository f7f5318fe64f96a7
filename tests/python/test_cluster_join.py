"""The elastic join: `voltctl start --add` grows a running cluster while it serves.

2 hosts (K=1, sitesperhost 2: 2 partitions) under a writer's load; 2 fresh hosts start with
`--add`; the cluster admits them together (K+1 = 2), copies the replicated table to their 2 new
partitions and moves half of every old partition's ranges to them. Afterwards: TOPO has 4
partitions with every replica live, every acknowledged key is read back exactly once (each in the
partition the new ring names), the static rows are unchanged, every new partition holds the
replicated rows, and no call failed. Then K-safety holds on the new layout: with an old host
killed, every key is still read through a new host, and with a new host killed too, through an
old one; the old host restarted rejoins (taking the joined ring) and reads every key through its
own port.
"""

import time

import pytest

from cluster import KeyWriter
from support import INTEGER, STRING, SUCCESS, VARBINARY, describe

pytestmark = pytest.mark.cluster

JOIN_SCHEMA = __import__("pathlib").Path(__file__).resolve().parent / "join_schema.sql"
JOIN_TIMEOUT_S = 120
PRELOAD = 3000
REF_ROWS = 40


def preload(cluster, via):
    fser = cluster.connect(via)
    try:
        from cluster import call
        for n in range(PRELOAD):
            key = "pre-%06d" % n
            r = call(fser, "KV.insert", [STRING, VARBINARY], [key, key.encode()])
            assert r.status == SUCCESS, describe(r)
        for n in range(REF_ROWS):
            r = call(fser, "REF.insert", [INTEGER, STRING], [n, "ref-%d" % n])
            assert r.status == SUCCESS, describe(r)
    finally:
        fser.close()


def join_complete(cluster, i):
    return "the join is complete" in cluster.hosts[i].output()


def keys_by_partition(cluster, via):
    """{partition: set of KV keys} read one partition at a time through host `via`."""
    string_keys = cluster.partition_keys(via, "STRING")
    out = {}
    for partition, pkey in sorted(string_keys.items()):
        r = cluster.ask(via, "KV_KEYS", [STRING], [pkey], timeout=20)
        out[partition] = {row[0] for row in r.tables[0].tuples}
    return out


@pytest.mark.timeout(300)
def test_two_hosts_grow_to_four_under_load(cluster_factory):
    cluster = cluster_factory(hosts=2, kfactor=1, sitesperhost=2, heartbeat_s=2, schema=JOIN_SCHEMA)
    cluster.start()
    preload(cluster, 0)
    writer = KeyWriter([cluster.client_port(0), cluster.client_port(1)], rate=200)
    writer.start()
    try:
        time.sleep(1)
        added = cluster.add_hosts(2, via=[0])
        cluster.wait_ready(added, timeout=JOIN_TIMEOUT_S)
        cluster.wait_for("the join to complete", lambda: join_complete(cluster, 0), JOIN_TIMEOUT_S)
        time.sleep(1)
    finally:
        writer.halt()
    assert writer.crash is None, writer.crash
    topology = cluster.wait_for("TOPO to show 4 partitions",
                                lambda: (lambda t: t if len(t) == 4 else None)(cluster.topology(0)), 20)
    assert sorted(topology) == [0, 1, 2, 3]
    assert cluster.ksafety(0) == {0: 0, 1: 0, 2: 0, 3: 0}
    expected = {"pre-%06d" % n for n in range(PRELOAD)} | writer.acked()
    for via in range(4):
        parts = keys_by_partition(cluster, via)
        seen = [k for keys in parts.values() for k in keys]
        assert len(seen) == len(set(seen)), "a key lives in two partitions"
        missing = expected - set(seen)
        assert not missing, "%d acknowledged keys missing through host %d, e.g. %r" % (
            len(missing), via, sorted(missing)[:5])
        assert all(parts[p] for p in parts), "a partition holds no keys: %r" % {p: len(k) for p, k in parts.items()}
    int_keys = cluster.partition_keys(0, "INTEGER")
    for partition, key in sorted(int_keys.items()):
        r = cluster.ask(0, "REF_COUNT_AT", [INTEGER], [key])
        assert r.tables[0].tuples[0][0] == REF_ROWS, "partition %d holds %r replicated rows" % (
            partition, r.tables[0].tuples[0][0])
    assert not writer.failures, "calls failed during the join: %s" % writer.summary()

    # K-safety on the new layout: an old host, then a new one, killed.
    cluster.kill9(1)
    cluster.wait_for("KSAFETY to show host 1's replicas missing",
                     lambda: sum(cluster.ksafety(2).values()) == 2, 20)
    assert_all_keys(cluster, 2, expected)
    cluster.kill9(3)
    cluster.wait_for("KSAFETY to show host 3's replicas missing too",
                     lambda: sum(cluster.ksafety(0).values()) == 4, 20)
    assert_all_keys(cluster, 0, expected)
    # The old host comes back: it rejoins with the ring the join left, and serves every key.
    cluster.restart(1)
    assert_all_keys(cluster, 1, expected)


def assert_all_keys(cluster, via, expected):
    parts = keys_by_partition(cluster, via)
    seen = [k for keys in parts.values() for k in keys]
    assert len(seen) == len(set(seen)), "a key lives in two partitions (through host %d)" % via
    missing = expected - set(seen)
    assert not missing, "%d acknowledged keys missing through host %d, e.g. %r" % (
        len(missing), via, sorted(missing)[:5])
    for key in sorted(expected)[:: max(1, len(expected) // 50)]:
        r = cluster.ask(via, "KV_GET", [STRING], [key])
        assert len(r.tables[0].tuples) == 1, "KV_GET %s through host %d found %r" % (key, via, r.tables[0].tuples)


@pytest.mark.timeout(240)
def test_voltclient_routes_through_the_join(cluster_factory):
    """The official topology-aware VoltClient, seeded with one old host, keeps a batch load
    running while the cluster grows from 2 to 4 hosts: no call fails; topology pushes bring it
    the 4 partitions and it connects to the new hosts; afterwards it routes each key to the
    partition that holds it (a key it writes is found in the partition it computed) and each
    call to that partition's leader."""
    from voltclient import VoltType
    from test_cluster_client import ClientLoad, WatchingClient, check_affinity

    cluster = cluster_factory(hosts=2, kfactor=1, sitesperhost=2, heartbeat_s=2, schema=JOIN_SCHEMA)
    cluster.start()
    preload(cluster, 0)
    client = WatchingClient(hosts=["127.0.0.1"], port=cluster.client_port(1),
                            connect_timeout=5, procedure_timeout=10, max_backoff=1.0)
    load = None
    try:
        cluster.wait_for("the client to connect to both hosts and subscribe",
                         lambda: len(client.live_connections()) == 2 and client.subscriptions, 20)
        load = ClientLoad(client, "c")
        load.start()
        cluster.wait_for(lambda: "50 acknowledged calls (%s)" % load.summary(),
                         lambda: len(load.acks) >= 50, 30)
        check_affinity(cluster, client, load, 0, "before the join")
        t_add = time.monotonic()
        added = cluster.add_hosts(2, via=[0])
        cluster.wait_ready(added, timeout=JOIN_TIMEOUT_S)
        cluster.wait_for("the join to complete", lambda: join_complete(cluster, 0), JOIN_TIMEOUT_S)
        ids = cluster.all_host_ids(via=0)
        cluster.wait_for("a topology push with 4 partitions",
                         lambda: [t for t, parts in client.pushes if t > t_add and len(parts) == 4], 20)
        cluster.wait_for("the client to connect to all 4 hosts",
                         lambda: set(client.live_connections()) == set(ids.values()), 20)
        check_affinity(cluster, client, load, 0, "after the join")
        t_after = time.monotonic()
        cluster.wait_for(lambda: "acknowledged calls after the join (%s)" % load.summary(),
                         lambda: load.acks_between(t_after) >= 50, 20)
        load.stop()
        assert not load.failures, "calls failed during the join: %s" % load.summary()
        # The client's ring is the server's: a key it writes lives in the partition it computed.
        string_keys = cluster.partition_keys(0, "STRING")
        for p, pkey in sorted(string_keys.items()):
            response = client.call("KV_KEYS", [VoltType.STRING], [pkey], timeout=20)
            assert response.status == SUCCESS, "KV_KEYS partition %d: %s" % (p, describe(response))
            for (key,) in response.tables[0].tuples:
                if key.startswith("c-"):
                    assert client.get_partition_for_parameter(VoltType.STRING, key) == p, \
                        "the client places %s in partition %d, the server holds it in %d" % (
                            key, client.get_partition_for_parameter(VoltType.STRING, key), p)
        expected = {k for _, k in load.acks}
        assert_all_keys(cluster, 2, expected)
    finally:
        if load is not None:
            load.halt()
        client.close()


@pytest.mark.timeout(240)
def test_one_host_grows_one_host_at_a_time_with_k0(cluster_factory):
    """K=0: a cluster of one (`--host` itself, `--count 1`) grows to 2 hosts and then to 3, one
    `--add` at a time (K+1 = 1), under a writer's load: each join completes with no failed call,
    and every acknowledged key is read back exactly once from 2, then 3 partitions x 2 sites."""
    cluster = cluster_factory(hosts=1, kfactor=0, sitesperhost=2, heartbeat_s=2, schema=JOIN_SCHEMA)
    cluster.start()
    preload(cluster, 0)
    writer = KeyWriter([cluster.client_port(0)], rate=150)
    writer.start()
    try:
        for grown in (2, 3):
            before = sum("the join is complete" in line for line in cluster.hosts[0].output().splitlines())
            added = cluster.add_hosts(1, via=[0])
            cluster.wait_ready(added, timeout=JOIN_TIMEOUT_S)
            cluster.wait_for("join %d to complete" % (grown - 1),
                             lambda: sum("the join is complete" in line
                                         for line in cluster.hosts[0].output().splitlines()) > before,
                             JOIN_TIMEOUT_S)
            topology = cluster.wait_for("TOPO to show %d partitions" % (2 * grown),
                                        lambda: (lambda t: t if len(t) == 2 * grown else None)(cluster.topology(0)), 20)
            assert sorted(topology) == list(range(2 * grown))
        time.sleep(1)
    finally:
        writer.halt()
    assert writer.crash is None, writer.crash
    assert not writer.failures, "calls failed during the joins: %s" % writer.summary()
    expected = {"pre-%06d" % n for n in range(PRELOAD)} | writer.acked()
    for via in range(3):
        assert_all_keys(cluster, via, expected)


@pytest.mark.timeout(240)
def test_a_waiting_joiner_is_listed_and_one_that_dies_leaves_the_buffer(cluster_factory):
    """K=1 needs two joiners: one alone waits (and says so), `voltctl status` lists it, and the
    cluster serves meanwhile; killed, it leaves the buffer; two more are then admitted together."""
    cluster = cluster_factory(hosts=2, kfactor=1, sitesperhost=2, heartbeat_s=2, schema=JOIN_SCHEMA)
    cluster.start()
    [lonely] = cluster.add_hosts(1, via=[0, 1])
    cluster.wait_for("the lone joiner to say it waits",
                     lambda: "Joining the cluster: waiting for 1 more host to join (K+1 = 2)" in cluster.hosts[lonely].output(), 30)
    endpoint = "127.0.0.1:%d" % cluster.hosts[lonely].internal_port

    def listed():
        code, out, err = cluster.status(0)
        assert code == 0, err
        return "WAITING TO JOIN" in out and endpoint in out and "waiting for 1 more host" in out
    cluster.wait_for("voltctl status to list the waiting host", listed, 20)
    cluster.ask(0, "KV.insert", [STRING, VARBINARY], ["while-waiting", b"x"])
    assert len(cluster.topology(0)) == 2
    cluster.kill9(lonely)
    cluster.wait_for("the dead joiner to leave the buffer", lambda: endpoint not in cluster.status(0)[1], 20)
    added = cluster.add_hosts(2, via=[1])
    cluster.wait_ready(added, timeout=JOIN_TIMEOUT_S)
    cluster.wait_for("the join to complete", lambda: join_complete(cluster, 0) or join_complete(cluster, 1), JOIN_TIMEOUT_S)
    topology = cluster.wait_for("TOPO to show 4 partitions",
                                lambda: (lambda t: t if len(t) == 4 else None)(cluster.topology(0)), 20)
    assert sorted(topology) == [0, 1, 2, 3]
    assert "WAITING TO JOIN" not in cluster.status(0)[1]
