"""`voltctl bench kv --servers` across a kill -9 and a rejoin: the bench follows the topology.

3 hosts, K=1 (3 partitions, 2 copies each). The bench runs against all three client ports with
client affinity (each key sent to its partition leader's host), subscribed to topology pushes.
While it measures:

1. host 0 is killed with kill -9. It leads a partition and it is the host the bench reads the
   topology from and subscribes on (the first --servers entry), so the bench must subscribe again
   on a survivor and read the topology there; its connections to host 0 are lost.
2. Once the survivors lead every partition, host 0 is restarted with its very same command (a
   rejoin). It appears in the topology again, and the bench connects to it again.

Checked, from the bench's `--json` result and its progress lines on standard error:

- the run succeeds (exit 0) and completes calls after the failover;
- `topologyUpdates` >= 2: one for the failover (leaders moved off host 0), one for the rejoin;
- the bench says it connected to the rejoined host;
- failed calls: zero. With affinity, a call goes to the host that leads its partition, so the
  only calls that could fail are those whose leader died; those were in flight on the killed
  host's own connections, which the bench reports as unanswered and does not count (neither as
  completed nor as failed). Between the kill and the failover the dead leader's keys are held
  back (no live connection leads them), not sent to survivors that could only refuse them.
"""

import json
import re
import subprocess
import time

import pytest

from cluster import leader_indices
from conftest import voltctl_path

pytestmark = pytest.mark.cluster

HOSTS = 3
HEARTBEAT_S = 2
KEYS = 3000
RATE = 1500              # calls per second over all connections: the bench shares 2 cores with 3 hosts
WARMUP_S = 1
DURATION_S = 30          # ends after the rejoin (a few seconds here; the test fails if not)
FAILOVER_WAIT_S = HEARTBEAT_S + 10


def bench_stderr(path):
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


@pytest.mark.timeout(170)
def test_bench_follows_failover_and_rejoin(cluster_factory, tmp_path):
    cluster = cluster_factory(hosts=HOSTS, kfactor=1, sitesperhost=2, heartbeat_s=HEARTBEAT_S)
    cluster.start()
    everyone = list(range(HOSTS))
    ids = cluster.all_host_ids(via=0)
    victim = 0
    assert victim in leader_indices(cluster.topology(via=0), ids).values(), \
        "host 0 should lead a partition of a fresh cluster: %r" % cluster.topology(via=0)

    out_path, err_path = tmp_path / "bench.out", tmp_path / "bench.err"
    servers = ",".join("127.0.0.1:%d" % cluster.client_port(i) for i in everyone)
    args = [str(voltctl_path()), "bench", "kv", "--servers", servers, "--keys", str(KEYS),
            "--rate", str(RATE), "--warmup", str(WARMUP_S), "--duration", str(DURATION_S),
            "--timeout", "20000", "--json"]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        bench = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                 start_new_session=True)
    try:
        cluster.wait_for(lambda: "the bench to start measuring; its output:\n%s" % bench_stderr(err_path),
                         lambda: "warming up" in bench_stderr(err_path), 60)
        assert "client affinity" in bench_stderr(err_path), bench_stderr(err_path)
        time.sleep(WARMUP_S + 2)

        # 1. kill -9 of host 0, then wait for the survivors to lead every partition.
        cluster.kill9(victim)
        survivors = [i for i in everyone if i != victim]
        cluster.wait_for("the survivors to lead every partition",
                         lambda: set(leader_indices(cluster.topology(via=survivors[0]), ids).values())
                         <= set(survivors), FAILOVER_WAIT_S)
        cluster.wait_for(lambda: "the bench to apply the failover; its output:\n%s" % bench_stderr(err_path),
                         lambda: "topology update 1:" in bench_stderr(err_path)
                         and "host %d left the topology" % ids[victim] in bench_stderr(err_path), 10)

        # 2. The rejoin: host 0 comes back and the bench connects to it.
        cluster.restart(victim)
        cluster.wait_for(lambda: "the bench to connect to the rejoined host %d; its output:\n%s"
                         % (ids[victim], bench_stderr(err_path)),
                         lambda: re.search(r"connected to host %d\b" % ids[victim], bench_stderr(err_path)),
                         20)
        cluster.assert_alive(everyone)

        code = bench.wait(timeout=DURATION_S + 60)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait(timeout=10)
    err = bench_stderr(err_path)
    assert code == 0, "voltctl bench exited with %d:\n%s" % (code, err)
    document = json.loads(out_path.read_text())
    result = document["result"]
    assert result["ops"] > 0, (result, err)
    assert result["topologyUpdates"] >= 2, (result, err)
    assert result["failures"] == 0, (result, err)
    assert list(result)[-1] == "topologyUpdates", list(result)
