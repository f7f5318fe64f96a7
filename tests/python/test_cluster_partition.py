"""A host cut off from the cluster, and hosts the cluster must refuse.

`test_sigstopped_host_never_serves_stale_data`: 3 hosts, K=1. Key K lives in a partition that
host V (not the start-up coordinator, when it can be helped) leads; K = "old". V is SIGSTOPped:
to the others it has gone silent, exactly like a host behind a network partition. The survivors
must serve every partition again within heartbeat + 2 s, take K = "new", and report
"2 live hosts, 1 missing". V stays stopped for heartbeat + 3 s in all. Just before SIGCONT a read
of K is queued on a connection to V that was logged in before the stop (the request sits in V's
socket buffer, so V may well read it before it notices anything). After SIGCONT, V must never
answer "old": the queued read and every read on fresh connections get an error, a closed or
refused connection, or "new". Within 20 s of SIGCONT V must have exited with a non-zero code
or refuse calls (three refusals in a row). The survivors still answer "new" afterwards.

`test_host_with_a_different_deployment_is_refused`: 2 hosts, --count 2; the second (not the
coordinator) has a different sitesperhost or kfactor. Its `voltctl start` must exit non-zero
within 20 s with output naming "deployment" and the setting; the coordinator must not have
completed initialization without it.
"""

import time

import pytest

import voltwire as w
from cluster import leader_indices, open_probes, output_mentions, probe_partitions
from conftest import READY_LINE
from support import STRING, SUCCESS, VARBINARY, describe

pytestmark = pytest.mark.cluster

HOSTS = 3
HEARTBEAT_S = 2
FAILOVER_BOUND_S = HEARTBEAT_S + 2
STOPPED_FOR_S = HEARTBEAT_S + 3
REFUSE_BOUND_S = 20
REFUSED_IN_A_ROW = 3
QUEUED_READ_TIMEOUT_S = 10
OLD, NEW = b"old", b"new"
READ_HANDLE = 77


def value_of(response):
    rows = response.tables[0].tuples if response.tables else []
    return bytes(rows[0][0]) if rows else None


def read_fresh(port, key, timeout=2.0):
    """One KV_GET of `key` on a new connection to `port`: ("value", bytes-or-None), or
    ("refused", why) for a refused or closed connection, a refused login or an error status, or
    ("unresponsive", why) when it neither answers nor closes within `timeout`."""
    try:
        sock = w.connect(port, timeout)
    except ConnectionRefusedError as e:
        return "refused", "connect: %s" % e
    except OSError as e:
        return "unresponsive", "connect: %s" % e
    try:
        sock.sendall(w.login_frame())
        status, _ = w.parse_login_response(w.read_frame(sock, timeout))
        if status != 0:
            return "refused", "login status %d" % status
        response = w.call(sock, "KV_GET", READ_HANDLE, [(w.STRING, key)], timeout)
        if response.status != SUCCESS:
            return "refused", describe(response)
        return "value", value_of(response)
    except (w.Closed, ConnectionError) as e:
        return "refused", "closed: %r" % (e,)
    except TimeoutError as e:
        return "unresponsive", str(e)
    finally:
        sock.close()


@pytest.mark.timeout(120)
def test_sigstopped_host_never_serves_stale_data(cluster_factory):
    cluster = cluster_factory(hosts=HOSTS, kfactor=1, sitesperhost=2, heartbeat_s=HEARTBEAT_S)
    cluster.start()
    everyone = list(range(HOSTS))
    ids = cluster.all_host_ids(via=0)
    topology = cluster.topology(via=0)
    leaders = leader_indices(topology, ids)
    candidates = sorted({i for i in leaders.values() if i is not None})
    assert candidates, "no partition leader among the hosts: %r %r" % (topology, ids)
    victim = candidates[-1]
    survivor = next(i for i in everyone if i != victim)
    partition = min(p for p, i in leaders.items() if i == victim)
    key = cluster.partition_keys(0, "STRING")[partition]
    int_keys = cluster.partition_keys(0, "INTEGER")
    victim_port = cluster.client_port(victim)

    cluster.ask(survivor, "KV.upsert", [STRING, VARBINARY], [key, OLD])
    held = w.login(victim_port)  # logged in before the stop; used for the queued read
    try:
        response = w.call(held, "KV_GET", 1, [(w.STRING, key)])
        assert response.status == SUCCESS and value_of(response) == OLD, describe(response)

        conns = open_probes(cluster.client_port(survivor), int_keys)
        t_stop = time.monotonic()
        cluster.sigstop(victim)
        times = probe_partitions(conns, cluster.client_port(survivor), int_keys, t_stop,
                                 t_stop + FAILOVER_BOUND_S + 10)
        slow = {p: t for p, t in times.items() if t[0] is None or t[0] > FAILOVER_BOUND_S}
        if slow:
            cluster.fail("with host %d stopped, partitions must take a write through host %d "
                         "within %d s; (seconds, last failure) by partition: %r"
                         % (victim, survivor, FAILOVER_BOUND_S, times))
        cluster.wait_for("the survivors to take the new value",
                         lambda: cluster.ask(survivor, "KV.upsert", [STRING, VARBINARY],
                                             [key, NEW]), 10)
        cluster.assert_status(survivor, live=2, missing=1)
        after = cluster.topology(via=survivor)
        assert after[partition].leader_host_id != ids[victim], \
            "partition %d is still led by the stopped host: %r" % (partition, after)

        # Keep it stopped for heartbeat + 3 s in all: a fixed fault duration, not a wait for
        # anything (there is nothing to poll while it is stopped).
        remaining = t_stop + STOPPED_FOR_S - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        held.sendall(w.invocation("KV_GET", READ_HANDLE, [(w.STRING, key)]))
        t_cont = time.monotonic()
        cluster.sigcont(victim)

        try:
            queued = w.parse_response(w.read_frame(held, timeout=QUEUED_READ_TIMEOUT_S))
            assert not (queued.status == SUCCESS and value_of(queued) == OLD), \
                "the resumed host answered the queued read of %r with the stale value %r" % (
                    key, OLD)
            assert queued.status != SUCCESS or value_of(queued) == NEW, \
                "the queued read of %r answered %r" % (key, value_of(queued))
        except (w.Closed, ConnectionError, TimeoutError):
            pass  # closed, reset or never answered: not stale
    finally:
        held.close()

    refusals, history = 0, []
    while True:
        h = cluster.hosts[victim]
        if not h.alive():
            assert h.proc.returncode != 0, \
                "the resumed host exited with code 0; it must exit non-zero:\n" + cluster.describe()
            break
        outcome, detail = read_fresh(victim_port, key)
        history.append((round(time.monotonic() - t_cont, 2), outcome, detail))
        if outcome == "value" and detail == OLD:
            cluster.fail("the resumed host %d answered a read of %r with the stale value %r; "
                         "reads since SIGCONT: %r" % (victim, key, OLD, history))
        assert outcome != "value" or detail == NEW, "a read of %r answered %r" % (key, detail)
        refusals = refusals + 1 if outcome == "refused" else 0
        if refusals >= REFUSED_IN_A_ROW:
            break
        if time.monotonic() - t_cont > REFUSE_BOUND_S:
            cluster.fail("%d s after SIGCONT, host %d neither exited nor refuses calls; reads "
                         "since SIGCONT: %r" % (REFUSE_BOUND_S, victim, history[-10:]))
        time.sleep(0.2)  # polling the resumed host until it exits or refuses, with a deadline

    survivors = [i for i in everyone if i != victim]
    cluster.assert_alive(survivors)
    for i in survivors:
        response = cluster.ask(i, "KV_GET", [STRING], [key])
        assert value_of(response) == NEW, "host %d answers %r" % (i, value_of(response))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("setting,value,other", [("sitesperhost", 2, 3), ("kfactor", 1, 0)])
def test_host_with_a_different_deployment_is_refused(cluster_factory, setting, value, other):
    settings = {"sitesperhost": 2, "kfactor": 1}
    settings[setting] = value
    cluster = cluster_factory(hosts=2, heartbeat_s=HEARTBEAT_S, overrides={1: {setting: other}},
                              **settings)
    cluster.launch()
    code = cluster.wait_exit(1, REFUSE_BOUND_S)
    text = cluster.hosts[1].output()
    assert code != 0, "the host with %s=%d exited with 0:\n%s" % (
        setting, other, cluster.describe())
    assert output_mentions(text, "deployment", setting), \
        "the refused host's output must name the deployment and %r:\n%s" % (setting, text)
    assert READY_LINE not in cluster.hosts[0].output(), \
        "the coordinator completed initialization of a 2-host cluster without its second " \
        "host:\n" + cluster.describe()
