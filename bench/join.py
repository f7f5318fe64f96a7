#!/usr/bin/env python3
"""The elastic join under load on this machine: 2 -> 4 hosts, K=1, sitesperhost 2.

    .venv/bin/python bench/join.py [--voltctl PATH] [--keys 1000000] [--value-bytes 100]
                                   [--pace default|full|both] [--window 10] [--full-duration 50] [--json]

For each pace (`default`: `<elastic duration="50" throughput="2"/>`; `full`: throughput 0):

1. Start 2 hosts (K=1) and load --keys keys of --value-bytes bytes with `voltctl bench kv`.
2. Capacity: `bench kv --skip-load` as fast as it goes for 5 s. Every later window offers half of
   that rate (`--rate`), so that the windows compare latency and throughput at the same load.
3. Before: a --window s window. The peak RSS of both hosts is reset (/proc/PID/clear_refs) and
   their RSS read: the steady state.
4. During: two fresh hosts start with `voltctl start --add`; the window starts at once (for the
   full pace, a third of --window, since that join is short). The join must outlast it (checked).
5. After: once "the join is complete", a window on the grown cluster.

Reported: the rebalance's time (from the coordinator's admission to the completion entry), MB
and rows moved per second and its longest step (the coordinator's final "Rebalance progress"
line); ops/s, p99 and failed calls of each window; each old host's peak RSS during the join
against its steady state. Everything runs on 127.0.0.1 with free ports and is killed by pid at
the end. Uses the release build of voltctl unless --voltctl says otherwise.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime

from cluster import REPO, Cluster, log

def paces(args):
    return {"default": '<systemsettings><elastic duration="50" throughput="2"/></systemsettings>',
            "full": '<systemsettings><elastic duration="%d" throughput="0"/></systemsettings>' % args.full_duration}


def bench(voltctl, servers, args, seconds, rate=None, load=False):
    cmd = [voltctl, "bench", "kv", "--servers", servers, "--keys", str(args.keys), "--value-bytes", str(args.value_bytes),
           "--duration", str(seconds), "--warmup", "0" if load else "1", "--json"]
    if not load:
        cmd.append("--skip-load")
    if rate:
        cmd += ["--rate", str(int(rate))]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError("bench kv failed: %s %s" % (done.stdout[-1500:], done.stderr[-1500:]))
    return json.loads(done.stdout)["result"]


def window(result):
    return {"opsPerSecond": round(result["opsPerSecond"], 1), "p99Millis": round(result["p99Micros"] / 1000, 2),
            "failed": result["failures"]}


def rss_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def stamp(line):
    return datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").timestamp()


def first_line(path, needle):
    for line in path.read_text(errors="replace").splitlines():
        if needle in line:
            return line
    return None


def run_pace(args, work, pace):
    c = Cluster(args.voltctl, os.path.join(work, pace), 2, 1, 5, spare=2, settings=paces(args)[pace])
    try:
        c.start_all()
        servers = c.servers()
        log("%s: loading %d keys of %d bytes" % (pace, args.keys, args.value_bytes))
        bench(args.voltctl, servers, args, 1, load=True)
        capacity = bench(args.voltctl, servers, args, 5)["opsPerSecond"]
        rate = capacity / 2
        log("%s: capacity %.0f ops/s; the windows offer %.0f ops/s" % (pace, capacity, rate))
        before = window(bench(args.voltctl, servers, args, args.window, rate))
        old = [c.procs[i].pid for i in range(2)]
        steady = [rss_kb(pid, "VmRSS") for pid in old]
        for pid in old:
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
        log("%s: adding two hosts" % pace)
        started = time.time()
        c.start(2)
        c.start(3)
        during_seconds = args.window if pace == "default" else max(1, args.window // 3)
        during = window(bench(args.voltctl, servers, args, during_seconds, rate))
        window_end = time.time()
        c.wait_ready(2, 1, timeout=300)
        c.wait_ready(3, 1, timeout=300)
        deadline = time.time() + 3600
        coordinator = None
        while time.time() < deadline:
            for i in range(2):
                if first_line(c.work / ("h%d.out" % i), "the join is complete"):
                    coordinator = next(j for j in range(2) if first_line(c.work / ("h%d.out" % j), "Join: Admitting"))
                    break
            if coordinator is not None:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("the join did not complete within an hour")
        peak = [rss_kb(pid, "VmHWM") for pid in old]
        out = c.work / ("h%d.out" % coordinator)
        admitted = stamp(first_line(out, "Join: Admitting"))
        completed = stamp(first_line(out, "the join is complete"))
        summary = [line for line in out.read_text(errors="replace").splitlines() if "Rebalance progress" in line][-1]
        m = re.search(r"([\d,]+) rows in [\d:]+ \(([\d.]+) MB/s, ([\d,]+) steps?, longest ([\d.]+) ms\)", summary)
        rows, mbps, steps, longest = int(m.group(1).replace(",", "")), float(m.group(2)), int(m.group(3).replace(",", "")), float(m.group(4))
        seconds = completed - admitted
        after = window(bench(args.voltctl, servers, args, args.window, rate))
        return {
            "pace": pace, "capacityOpsPerSecond": round(capacity, 1), "offeredOpsPerSecond": round(rate, 1),
            "rebalanceSeconds": round(seconds, 2), "rowsMoved": rows, "rowsPerSecond": round(rows / max(seconds, 1e-3), 1),
            "megabytesPerSecond": mbps, "steps": steps, "longestStepMillis": longest,
            "duringWindowInsideJoin": window_end <= completed, "joinStartedToWindowEnd": round(window_end - started, 2),
            "before": before, "during": during, "after": after,
            "duringOverBefore": round(during["opsPerSecond"] / before["opsPerSecond"], 3),
            "p99DuringOverBefore": round(during["p99Millis"] / max(before["p99Millis"], 1e-6), 2),
            "steadyRssKB": steady, "peakRssKB": peak,
            "peakOverSteady": [round(p / s, 2) for p, s in zip(peak, steady)],
        }
    finally:
        c.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--voltctl", default=str(REPO / ".build" / "release" / "voltctl"))
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--value-bytes", type=int, default=100)
    ap.add_argument("--pace", choices=["default", "full", "both"], default="both")
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--full-duration", type=int, default=50, help="<elastic duration> (ms) of the full pace")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    paces = ["default", "full"] if args.pace == "both" else [args.pace]
    with tempfile.TemporaryDirectory(prefix="volt-join-bench.") as work:
        results = [run_pace(args, work, pace) for pace in paces]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            print(json.dumps(r, indent=2))


if __name__ == "__main__":
    sys.exit(main())
