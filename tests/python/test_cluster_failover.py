"""kill -9 of one host of a 3-host, K=1 cluster under write load, then its rejoin under load.

One test, in order (every wait bounded; a failure shows every host's output):

1. Start 3 hosts (sitesperhost 2, kfactor 1: 3 partitions, 2 copies each), check TOPO, KSAFETY
   (nothing missing) and `voltctl status` ("3 live hosts, 0 missing").
2. A writer thread inserts unique keys through all three hosts' client ports, round-robin
   (the legacy `FastSerializer` client), recording each acknowledged (SUCCESS) insert.
3. kill -9 a host that leads a partition (the last such host: not the start-up coordinator
   when another leader exists; test_cluster_client.py kills the coordinator).
   (b) Probes through a survivor, one per partition in parallel on connections opened before
   the kill: every partition takes a single-partition write again within heartbeat + 2 s
   of the kill. TOPO names no leader on the dead host. (c) KSAFETY shows one missing replica
   exactly for the partitions that had a copy on the dead host; `voltctl status` says
   "2 live hosts, 1 missing". The writer keeps being acknowledged after the failover.
   (a) Every key acknowledged so far is read back through a survivor.
4. Restart the host with its very same command while the writer keeps writing: it rejoins and
   prints the ready line within 90 s; inserts are acknowledged during the rejoin; KSAFETY has
   nothing missing and status says "3 live hosts, 0 missing" again; the writer is acknowledged
   through the rejoined host's port too. Every acknowledged key is read back through the
   rejoined host's port.
5. The writer stops. Proof that the rejoin copied the data (rather than the rejoined host
   forwarding every read): kill -9 another host, so that some partitions now live only on the
   rejoined host, and read every acknowledged key back through the rejoined host again.
"""

import time

import pytest

from cluster import KeyWriter, leader_indices, open_probes, probe_partitions
from support import STRING, SUCCESS, VARBINARY

pytestmark = pytest.mark.cluster

HOSTS = 3
KFACTOR = 1
SITES_PER_HOST = 2
HEARTBEAT_S = 2
FAILOVER_BOUND_S = HEARTBEAT_S + 2   # kill -> every partition answers again
PROBE_WAIT_S = FAILOVER_BOUND_S + 10  # how long the probes keep trying, to report actual times
WRITE_RATE = 400                      # inserts per second, at most


def check_ksafety(cluster, via, expected):
    got = cluster.ksafety(via)
    assert got == expected, "KSAFETY MISSING_REPLICA by partition %r, expected %r" % (got, expected)
    return True


def missing_keys_report(missing, acked):
    sample = sorted(missing)[:10]
    return "%d of %d acknowledged keys missing, e.g. %r" % (len(missing), len(acked), sample)


@pytest.mark.timeout(170)
def test_kill9_failover_then_rejoin_under_load(cluster_factory):
    cluster = cluster_factory(hosts=HOSTS, kfactor=KFACTOR, sitesperhost=SITES_PER_HOST,
                              heartbeat_s=HEARTBEAT_S)
    cluster.start()
    everyone = list(range(HOSTS))

    # 1. The formed cluster.
    ids = cluster.all_host_ids(via=0)
    assert sorted(ids) == everyone and len(set(ids.values())) == HOSTS, \
        "OVERVIEW must list the 3 hosts with distinct ids: %r" % ids
    topology = cluster.topology(via=0)
    assert sorted(topology) == list(range(cluster.partition_count)), topology
    for p, info in topology.items():
        assert len(set(info.replica_host_ids)) == KFACTOR + 1, \
            "partition %d should have %d copies on distinct hosts: %r" % (p, KFACTOR + 1, info)
        assert info.leader_host_id in info.replica_host_ids, info
    leaders = leader_indices(topology, ids)
    leading = sorted(set(leaders.values()))
    assert None not in leading, "a TOPO leader is not one of the hosts: %r %r" % (topology, ids)
    victim = leading[-1]
    survivors = [i for i in everyone if i != victim]
    cluster.wait_for("KSAFETY with nothing missing",
                     lambda: check_ksafety(cluster, 0, {p: 0 for p in topology}), 10)
    cluster.assert_status(0, live=3, missing=0)
    int_keys = cluster.partition_keys(0, "INTEGER")
    str_keys = cluster.partition_keys(0, "STRING")

    # 2. Load through every host.
    writer = KeyWriter([cluster.client_port(i) for i in everyone], prefix="w", rate=WRITE_RATE)
    writer.start()
    try:
        cluster.wait_for(lambda: "200 acknowledged inserts before the kill (%s)" % writer.summary(),
                         lambda: len(writer.acks) >= 200, 30)

        # 3. kill -9 and failover.
        probe_via = survivors[0]
        conns = open_probes(cluster.client_port(probe_via), int_keys)
        t_kill = time.monotonic()
        cluster.kill9(victim)
        times = probe_partitions(conns, cluster.client_port(probe_via), int_keys, t_kill,
                                 t_kill + PROBE_WAIT_S)
        cluster.assert_alive(survivors)
        slow = {p: t for p, t in times.items() if t[0] is None or t[0] > FAILOVER_BOUND_S}
        if slow:
            cluster.fail("after kill -9 of host %d, partitions must take a write through host %d "
                         "within %d s; (seconds, last failure) by partition: %r"
                         % (victim, probe_via, FAILOVER_BOUND_S, times))

        after = cluster.topology(via=probe_via)
        assert sorted(after) == sorted(topology), "partitions changed: %r -> %r" % (topology, after)
        moved = [p for p, info in after.items() if info.leader_host_id == ids[victim]]
        assert not moved, "partitions %r still led by the dead host %d (id %d): %r" % (
            moved, victim, ids[victim], after)

        expected_missing = {p: int(ids[victim] in info.replica_host_ids)
                            for p, info in topology.items()}
        assert any(expected_missing.values())
        cluster.wait_for("KSAFETY to show the dead host's replicas missing %r" % expected_missing,
                         lambda: check_ksafety(cluster, probe_via, expected_missing), 10)
        cluster.assert_status(probe_via, live=2, missing=1)

        t_failed_over = time.monotonic()
        cluster.wait_for(lambda: "the writer to be acknowledged after the failover (%s)"
                         % writer.summary(),
                         lambda: writer.acks_since(t_failed_over) >= 100, 20)

        acked = writer.acked()
        readable = cluster.read_all_keys(survivors[-1], str_keys)
        missing = acked - readable
        assert not missing, "after kill -9 of host %d, through host %d: %s" % (
            victim, survivors[-1], missing_keys_report(missing, acked))

        # 4. Rejoin under load.
        t_restart = time.monotonic()
        t_ready = cluster.restart(victim)
        cluster.assert_alive(everyone)
        assert writer.acks_between(t_restart, t_ready) > 0, \
            "no insert was acknowledged during the %.1f s rejoin: %s" % (
                t_ready - t_restart, writer.summary())

        ids_after = cluster.all_host_ids(via=victim)
        for via in (probe_via, victim):
            cluster.wait_for("KSAFETY through host %d with nothing missing after the rejoin" % via,
                             lambda: check_ksafety(cluster, via, {p: 0 for p in topology}), 15)
        cluster.assert_status(victim, live=3, missing=0)
        # Once the rejoin is over, nothing more is proposed: the metadata logs stop growing (a
        # finished rejoiner that kept re-proposing its end would append an entry every second).
        logs = [h.root / "cluster" / "raft.log" for h in cluster.hosts]
        before = [p.stat().st_size for p in logs]
        time.sleep(3)
        assert [p.stat().st_size for p in logs] == before, \
            "metadata logs still grow after the rejoin: %r -> %r" % (before, [p.stat().st_size for p in logs])
        rejoined = cluster.topology(via=victim)
        holding = [p for p, info in rejoined.items() if ids_after[victim] in info.replica_host_ids]
        assert holding, "the rejoined host (id %d) holds no partition: %r" % (
            ids_after[victim], rejoined)

        victim_port = cluster.client_port(victim)
        t_serving = time.monotonic()
        cluster.wait_for(lambda: "inserts acknowledged through the rejoined host's port (%s)"
                         % writer.summary(),
                         lambda: writer.acks_since(t_serving, port=victim_port) >= 20, 20)

        acked = writer.acked()
        readable = cluster.read_all_keys(victim, str_keys)
        missing = acked - readable
        assert not missing, "after the rejoin of host %d, through it: %s" % (
            victim, missing_keys_report(missing, acked))
    finally:
        writer.halt()
    writer.stop()

    # 5. The rejoined host holds real copies: lose another host, read everything through it.
    acked = writer.acked()
    second = survivors[0]
    cluster.kill9(second)
    readable = cluster.read_all_keys(victim, str_keys, timeout=FAILOVER_BOUND_S + 15)
    missing = acked - readable
    assert not missing, ("with host %d killed after host %d rejoined, through host %d: %s"
                         % (second, victim, victim, missing_keys_report(missing, acked)))
    cluster.assert_alive([i for i in everyone if i != second])


@pytest.mark.timeout(150)
def test_a_fresh_host_started_with_add_replaces_a_missing_one(cluster_factory):
    """kill -9 one host of three (K=1), then start a brand-new host (fresh root directory, new
    ports) with `voltctl start --add --host <a survivor>`: it takes the missing host's place,
    receives its replicas, and the cluster is K-safe again; every key written before is readable
    through the new host, and once the other survivor is killed, the new host's own copies serve
    the partitions it shares with it."""
    cluster = cluster_factory(hosts=HOSTS, kfactor=KFACTOR, sitesperhost=SITES_PER_HOST,
                              heartbeat_s=HEARTBEAT_S)
    cluster.start()
    string_keys = cluster.partition_keys(0, "STRING")
    written = ["add-%04d" % n for n in range(300)]
    for key in written:
        response = cluster.ask(n_host(key), "KV.insert", [STRING, VARBINARY], [key, b"v"])
        assert response.status == SUCCESS, response
    cluster.kill9(2)
    cluster.assert_status(0, live=2, missing=1, timeout=HEARTBEAT_S + 10)
    cluster.replace_with_fresh(2, via=1)
    cluster.wait_for("KSAFETY to show nothing missing after the --add",
                     lambda: not any(cluster.ksafety(0).values()), 30)
    cluster.assert_status(0, live=3, missing=0, timeout=10)
    assert set(written) <= cluster.read_all_keys(2, string_keys), "keys missing through the new host"
    # The new host's copies are real: with host 1 gone too, the partitions host 1 shared with the
    # new host are served from the new host's own data.
    cluster.kill9(1)
    survivors_missing = set(written) - cluster.read_all_keys(2, string_keys, timeout=HEARTBEAT_S + 20)
    assert not survivors_missing, "after host 1 died, keys missing through the new host: %r" % sorted(survivors_missing)[:10]


def n_host(key):
    """Spreads the set-up writes over hosts 0 and 1 (host 2 is the one replaced)."""
    return sum(key.encode()) % 2
