#!/usr/bin/env python3
"""The cost of K-safety, failover time and rejoin streaming rate, on this machine.

    .venv/bin/python bench/cluster.py [--voltctl PATH] [--seconds 10] [--runs 3] [--rejoin-mb 200] [--json]

1. Replication: `voltctl bench kv --servers` against one host with K=0, then against three hosts
   with K=1 (the load spread over all three), same keys, value size and mix; median of --runs.
2. Failover: three hosts K=1, heartbeat timeout 2 s; kill -9 the host that leads the most
   partitions and time, per partition it led, from the kill to the first successful
   single-partition write on that partition through a survivor.
3. Rejoin: load about --rejoin-mb of rows, kill -9 a host, restart it with the same command and
   read the leaders' "Streamed partition" log lines (bytes and seconds per partition), while a
   writer keeps the leaders busy.

Everything runs on 127.0.0.1 with free ports and is killed by pid at the end. Uses the release
build of voltctl unless --voltctl says otherwise.
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "python"))
from voltdbclient import FastSerializer, VoltProcedure  # noqa: E402

READY = "Server completed initialization."
SCHEMA = """
CREATE TABLE KV (K VARCHAR(64) NOT NULL, V VARBINARY(1024), PRIMARY KEY (K));
PARTITION TABLE KV ON COLUMN K;
CREATE TABLE PROBE (ID INTEGER NOT NULL, N BIGINT, PRIMARY KEY (ID));
PARTITION TABLE PROBE ON COLUMN ID;
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Cluster:
    """`hosts` hosts formed together, plus `spare` more initialized for `add` (an elastic join);
    `settings` is more deployment XML (e.g. `<systemsettings>`)."""

    def __init__(self, voltctl, work, hosts, kfactor, heartbeat_s, spare=0, settings=""):
        self.voltctl, self.work, self.n = voltctl, Path(work), hosts
        total = hosts + spare
        self.client = [free_port() for _ in range(total)]
        self.admin = [free_port() for _ in range(total)]
        self.internal = sorted(free_port() for _ in range(hosts)) + [free_port() for _ in range(spare)]
        self.procs = [None] * total
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "deployment.xml").write_text(
            '<?xml version="1.0"?><deployment><cluster sitesperhost="2" kfactor="%d"/>'
            '<heartbeat timeout="%d"/>%s</deployment>' % (kfactor, heartbeat_s, settings))
        (self.work / "schema.sql").write_text(SCHEMA)
        for i in range(total):
            subprocess.run([voltctl, "init", "--dir", str(self.work / ("h%d" % i)), "--config",
                            str(self.work / "deployment.xml"), "--schema", str(self.work / "schema.sql")],
                           check=True, stdout=subprocess.DEVNULL)

    def command(self, i):
        cmd = [self.voltctl, "start", "--dir", str(self.work / ("h%d" % i)), "--client", "127.0.0.1:%d" % self.client[i],
               "--admin", "127.0.0.1:%d" % self.admin[i], "--internal", "127.0.0.1:%d" % self.internal[i], "--http", "0"]
        if i >= self.n:
            cmd += ["--add", "--host", "127.0.0.1:%d" % self.internal[0]]
        elif self.n > 1:
            cmd += ["--host", ",".join("127.0.0.1:%d" % p for p in self.internal[:self.n]), "--count", str(self.n)]
        return cmd

    def start(self, i):
        out = open(self.work / ("h%d.out" % i), "ab")
        self.procs[i] = subprocess.Popen(self.command(i), stdout=out, stderr=subprocess.STDOUT)

    def ready_count(self, i):
        try:
            # The bare line is stdout's; the log copy has a timestamp in front.
            return sum(1 for line in (self.work / ("h%d.out" % i)).read_text(errors="replace").splitlines() if line == READY)
        except FileNotFoundError:
            return 0

    def wait_ready(self, i, count, timeout=180):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.ready_count(i) >= count:
                return
            if self.procs[i].poll() is not None:
                raise RuntimeError("host %d exited: %s" % (i, (self.work / ("h%d.out" % i)).read_text()[-2000:]))
            time.sleep(0.05)
        raise RuntimeError("host %d not ready in %d s" % (i, timeout))

    def start_all(self):
        for i in range(self.n):
            self.start(i)
        for i in range(self.n):
            self.wait_ready(i, 1)

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()

    def stop(self):
        for p in self.procs:
            if p and p.poll() is None:
                p.kill()
                p.wait()

    def servers(self):
        return ",".join("127.0.0.1:%d" % p for p in self.client[:self.n])


def bench_kv(voltctl, servers, seconds):
    out = subprocess.run([voltctl, "bench", "kv", "--servers", servers, "--duration", str(seconds), "--warmup", "2",
                          "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["result"]


def topology(fser):
    r = VoltProcedure(fser, "@Statistics", [FastSerializer.VOLTTYPE_STRING, FastSerializer.VOLTTYPE_INTEGER]).call(["TOPO", 0])
    leaders = {}
    for row in r.tables[0].tuples:
        if row[0] != 16383:
            leaders[row[0]] = int(row[2].split(":")[0])
    return leaders


def partition_keys(fser):
    r = VoltProcedure(fser, "@GetPartitionKeys", [FastSerializer.VOLTTYPE_STRING]).call(["INTEGER"])
    return {row[0]: row[1] for row in r.tables[0].tuples}


def replication_cost(args, work):
    results = {}
    for label, hosts, k in (("1 host, K=0", 1, 0), ("3 hosts, K=1", 3, 1)):
        runs = []
        c = Cluster(args.voltctl, os.path.join(work, "rep%d" % hosts), hosts, k, 10)
        try:
            c.start_all()
            for r in range(args.runs):
                log("%s: run %d of %d (%d s)" % (label, r + 1, args.runs, args.seconds))
                runs.append(bench_kv(args.voltctl, c.servers(), args.seconds))
        finally:
            c.stop()
        ops = [run["opsPerSecond"] for run in runs]
        p99 = [run["p99Micros"] for run in runs]
        results[label] = {"opsPerSecond": statistics.median(ops), "p99Micros": statistics.median(p99), "runs": ops}
    base, rep = results["1 host, K=0"], results["3 hosts, K=1"]
    results["throughputRatio"] = rep["opsPerSecond"] / base["opsPerSecond"]
    return results


def failover(args, work):
    c = Cluster(args.voltctl, os.path.join(work, "fo"), 3, 1, 2)
    try:
        c.start_all()
        fser = FastSerializer("127.0.0.1", c.client[0], procedure_timeout=10)
        leaders, keys = topology(fser), partition_keys(fser)
        counts = {}
        for p, h in leaders.items():
            counts[h] = counts.get(h, 0) + 1
        victim = max(sorted(counts), key=lambda h: counts[h])
        survivor = next(i for i in range(3) if i != victim)
        affected = sorted(p for p, h in leaders.items() if h == victim)
        fser = FastSerializer("127.0.0.1", c.client[survivor], procedure_timeout=10)
        upsert = VoltProcedure(fser, "PROBE.upsert", [FastSerializer.VOLTTYPE_INTEGER, FastSerializer.VOLTTYPE_BIGINT])
        log("failover: kill -9 host %d, which leads partitions %s" % (victim, affected))
        t0 = time.monotonic()
        c.kill(victim)
        times = {}
        deadline = t0 + 30
        while len(times) < len(affected) and time.monotonic() < deadline:
            for p in affected:
                if p in times:
                    continue
                try:
                    if upsert.call([keys[p], 1], timeout=2).status == 1:
                        times[p] = (time.monotonic() - t0) * 1000
                except Exception:
                    fser = FastSerializer("127.0.0.1", c.client[survivor], procedure_timeout=10)
                    upsert = VoltProcedure(fser, "PROBE.upsert", [FastSerializer.VOLTTYPE_INTEGER, FastSerializer.VOLTTYPE_BIGINT])
            time.sleep(0.005)
        return {"heartbeatTimeoutMillis": 2000, "millisPerPartition": times,
                "maxMillis": max(times.values()) if times else None}
    finally:
        c.stop()


def rejoin(args, work):
    c = Cluster(args.voltctl, os.path.join(work, "rj"), 3, 1, 5)
    try:
        c.start_all()
        fser = FastSerializer("127.0.0.1", c.client[0], procedure_timeout=60)
        keys = args.rejoin_mb * 1000
        log("rejoin: loading %d keys of 1000 bytes (about %d MB) with voltctl bench kv" % (keys, args.rejoin_mb))
        subprocess.run([args.voltctl, "bench", "kv", "--servers", c.servers(), "--keys", str(keys), "--value-bytes", "1000",
                        "--duration", "1", "--warmup", "0"], check=True, capture_output=True)
        victim = 2
        c.kill(victim)
        time.sleep(3)
        stop = threading.Event()

        def writer():
            f = FastSerializer("127.0.0.1", c.client[0], procedure_timeout=10)
            up = VoltProcedure(f, "KV.upsert", [FastSerializer.VOLTTYPE_STRING, FastSerializer.VOLTTYPE_VARBINARY])
            n = 0
            while not stop.is_set():
                try:
                    up.call(["w%d" % (n % 1000), b"x" * 100], timeout=5)
                except Exception:
                    pass
                n += 1
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        log("rejoin: restarting host %d" % victim)
        t0 = time.monotonic()
        c.start(victim)
        c.wait_ready(victim, 2, timeout=600)
        total = time.monotonic() - t0
        stop.set()
        streamed = []
        for i in range(3):
            text = (c.work / ("h%d.out" % i)).read_text(errors="replace")
            for m in re.finditer(r"Streamed partition (\d+) to host \d+: (\d+) bytes in ([0-9.]+) s", text):
                streamed.append((int(m.group(1)), int(m.group(2)), float(m.group(3))))
        total_bytes = sum(b for _, b, _ in streamed)
        rates = [b / 1e6 / max(s, 1e-6) for _, b, s in streamed]
        return {"bytes": total_bytes, "partitions": len(streamed), "perPartitionMBps": rates,
                "medianMBps": statistics.median(rates) if rates else None, "rejoinSeconds": total}
    finally:
        c.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--voltctl", default=str(REPO / ".build" / "release" / "voltctl"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rejoin-mb", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--only", choices=["replication", "failover", "rejoin"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="volt-cluster-bench.") as work:
        out = {}
        if args.only in (None, "replication"):
            out["replication"] = replication_cost(args, work)
        if args.only in (None, "failover"):
            out["failover"] = failover(args, work)
        if args.only in (None, "rejoin"):
            out["rejoin"] = rejoin(args, work)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(k, json.dumps(v, indent=2))


if __name__ == "__main__":
    main()
