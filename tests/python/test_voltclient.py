"""The topology-aware `VoltClient`: discovery, affinity routing, thousands of calls in flight, and
the all-partition fan-out (checklist §9b of docs/PROTOCOL.md)."""

import concurrent.futures
from collections import Counter

from voltclient import MP_INIT_PID, VoltClient, VoltType

from support import adhoc, describe, ok, scalar

PARTITIONS = 4  # deployment.xml: one host, sitesperhost="4", kfactor="0"


def test_discovery_finds_the_host_partitions_ring_and_procedures(server, client):
    topology = client.topology
    # OVERVIEW: this one host, advertising the client port it listens on.
    assert len(topology.hosts) == 1, topology.hosts
    (host,) = topology.hosts.values()
    assert host.client_port == server.client_port
    assert host.ip, "OVERVIEW must advertise a dialable IPADDRESS"

    # Login host id == OVERVIEW HOST_ID == TOPO leader of every partition (§9 item 7).
    login_host_ids = {c._fser.hostId for c in client._connections}
    assert login_host_ids == {host.host_id}
    assert set(topology.partitions) == set(range(PARTITIONS)) | {MP_INIT_PID}, topology.partitions
    for info in topology.partitions.values():
        assert info.leader_host_id == host.host_id
        assert info.replica_host_ids == (host.host_id,)

    # TOPO's HASHCONFIG decodes into a ring.
    assert topology.hashinator is not None, "no usable ELASTIC hash config in @Statistics TOPO"
    owners = {topology.hashinator.partition_for_token(t)
              for t in range(-2 ** 31, 2 ** 31, 2 ** 20)}
    assert owners == set(range(PARTITIONS))

    # PROCEDURES: default CRUD and user procedures, names as declared, partitioning in REMARKS.
    procs = topology.procedures
    for name, param, ptype in [("KV.insert", 0, VoltType.STRING), ("KV.upsert", 0, VoltType.STRING),
                               ("KV.select", 0, VoltType.STRING), ("KV_GET", 0, VoltType.STRING),
                               ("HelloInsert", 2, VoltType.STRING),
                               ("HelloSelect", 0, VoltType.STRING),
                               ("PCOUNT_HERE", 0, VoltType.INTEGER),
                               ("BULK_P.insert", 0, VoltType.BIGINT)]:
        assert name in procs, "%s missing from @SystemCatalog PROCEDURES: %s" % (name, sorted(procs))
        p = procs[name]
        assert p.single_partition, name
        assert (p.partition_param, p.partition_param_type) == (param, ptype), p
    for name in ["REGION_NAME", "REGIONS.insert"]:
        assert name in procs, "%s missing from @SystemCatalog PROCEDURES" % name
        assert not procs[name].single_partition, procs[name]
    assert procs["KV.select"].read_only and not procs["KV.insert"].read_only


def test_single_partition_calls_are_routed_with_affinity(server, client, unique):
    before = client.affinity_stats()
    n = 300
    for i in range(n):
        ok(client.call("KV.upsert", [VoltType.STRING, VoltType.VARBINARY],
                       ["%s-%d" % (unique, i), b"v%d" % i]))
    after = client.affinity_stats()
    sent_with_affinity = sum(s.affinity_sends for s in after.values()) - \
        sum(s.affinity_sends for s in before.values())
    sent_round_robin = sum(s.round_robin_sends for s in after.values()) - \
        sum(s.round_robin_sends for s in before.values())
    assert sent_with_affinity == n, (before, after)
    # Only the client's own system calls go round-robin (a discovery refresh after its background
    # @Subscribe is three of them); none of the n single-partition calls may.
    assert sent_round_robin <= 6, (before, after)
    assert scalar(client, "SELECT COUNT(*) FROM KV WHERE K LIKE '%s-%%'" % unique) == n


def test_five_thousand_calls_in_flight_all_answered(server, unique):
    n = 5000
    with VoltClient(hosts=[server.host], port=server.client_port, connect_timeout=10,
                    procedure_timeout=90, max_outstanding=n + 100) as client:
        keys = ["%s-%05d" % (unique, i) for i in range(n)]
        writes = [client.call_async("KV.insert", [VoltType.STRING, VoltType.VARBINARY],
                                    [k, k.encode()]) for k in keys]
        done, pending = concurrent.futures.wait(writes, timeout=100)
        assert not pending, "%d of %d inserts unanswered" % (len(pending), n)
        for f in writes:
            ok(f.result())
            assert f.result().tables[0].tuples == [[1]]

        reads = {k: client.call_async("KV_GET", [VoltType.STRING], [k]) for k in keys}
        done, pending = concurrent.futures.wait(list(reads.values()), timeout=100)
        assert not pending, "%d of %d reads unanswered" % (len(pending), n)
        for k, f in reads.items():
            rows = ok(f.result()).tables[0].tuples
            assert len(rows) == 1 and bytes(rows[0][0]) == k.encode(), \
                "KV_GET(%r) answered %r: responses paired with the wrong calls?" % (k, rows)
        assert scalar(client, "SELECT COUNT(*) FROM KV WHERE K LIKE '%s-%%'" % unique) == n


def test_call_all_partitions_reports_each_partitions_rows(server, client):
    ids = range(1_000_000, 1_002_000)
    futures = [client.call_async("PCOUNT.insert", [VoltType.INTEGER, VoltType.STRING],
                                 [i, "n%d" % i]) for i in ids]
    done, pending = concurrent.futures.wait(futures, timeout=60)
    assert not pending
    for f in futures:
        ok(f.result())

    # Where the client's copy of the ring says each row lives...
    expected = Counter(client.get_partition_for_parameter(VoltType.INTEGER, i) for i in ids)
    # ...must be where the server keeps it: each leg counts only its own partition's rows.
    results = client.call_all_partitions("PCOUNT_HERE", timeout=60)
    assert [r.partition_id for r in results] == list(range(PARTITIONS))
    for r in results:
        assert r.ok, "partition %d: %s" % (r.partition_id,
                                           r.error or describe(r.response))
        (count,) = r.response.tables[0].tuples[0]
        assert count == expected[r.partition_id], \
            "partition %d holds %d rows, the client's ring puts %d there" % (
                r.partition_id, count, expected[r.partition_id])
    assert sum(r.response.tables[0].tuples[0][0] for r in results) == len(ids)


def test_multi_partition_procedure_and_replicated_table(server, client, unique):
    for i in range(10):
        ok(client.call("REGIONS.insert", [VoltType.INTEGER, VoltType.STRING],
                       [5000 + i, "%s-%d" % (unique, i)]))
    rows = ok(client.call("REGION_NAME", [VoltType.INTEGER], [5003])).tables[0].tuples
    assert rows == [["%s-3" % unique]]
    response = adhoc(client, "SELECT ID, NAME FROM REGIONS WHERE NAME LIKE '%s-%%' ORDER BY ID"
                     % unique)
    assert [r[0] for r in response.tables[0].tuples] == list(range(5000, 5010))


def test_unknown_procedure_through_voltclient(client):
    response = client.call("NoSuchProcedure", [VoltType.INTEGER], [1])
    assert response.status == -3, describe(response)
    assert "NoSuchProcedure" in (response.statusString or "")
