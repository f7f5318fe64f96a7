#!/usr/bin/env python3
"""Summarizes one bench/compare.sh run from its raw outputs.

usage: compare_report.py OUT_DIR [--json]

Reads run.json, redis-{set,get}.csv, pgbench-NAME.{txt,meta.json} + pgbench-NAME/log*, volt-{peak,half}.json from
OUT_DIR (whichever exist), writes OUT_DIR/summary.json and OUT_DIR/table.txt, and prints the
table (or, with --json, the summary).
"""

import csv
import glob
import json
import os
import re
import sys

GOAL_VS_REDIS = 0.5       # ours ≥ 0.5 × Redis ops/s
GOAL_VS_POSTGRES = 3.0    # ours ≥ 3 × PostgreSQL ops/s
GOAL_P99_HALF_MICROS = 2000.0  # our p99 < 2 ms at half of our peak


def load_json(path):
    with open(path) as f:
        return json.load(f)


def first_line(path):
    try:
        with open(path) as f:
            return f.readline().strip()
    except OSError:
        return ""


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil(n·p/100)
    return sorted_values[min(len(sorted_values), int(rank)) - 1]


def redis_rows(out, get_ratio):
    runs = {}
    for test in ("set", "get"):
        path = os.path.join(out, f"redis-{test}.csv")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            row = next(csv.DictReader(f))
        runs[test] = {
            "opsPerSecond": float(row["rps"]),
            "avgMicros": float(row["avg_latency_ms"]) * 1000,
            "p50Micros": float(row["p50_latency_ms"]) * 1000,
            "p99Micros": float(row["p99_latency_ms"]) * 1000,
        }
    if not runs:
        return None, []
    version = ""
    m = re.search(r"v=(\S+)", first_line(os.path.join(out, "redis-version.txt")))
    if m:
        version = m.group(1)
    weights = {"get": get_ratio, "set": 1 - get_ratio}
    needed = [t for t in ("get", "set") if weights[t] > 0]
    if any(t not in runs for t in needed):
        return None, []
    # Time per operation of the mix is the weighted sum of each command's time per operation.
    mix_ops = 1 / sum(weights[t] / runs[t]["opsPerSecond"] for t in needed)
    mix = {
        "system": "redis",
        "label": f"Redis {version}".strip(),
        "opsPerSecond": mix_ops,
        # Percentiles of a mix cannot be rebuilt from the parts: p50 is the weighted mean of the
        # two p50s (an estimate); p99 is the larger p99, an upper bound for the mix's p99.
        "p50Micros": sum(weights[t] * runs[t]["p50Micros"] for t in needed),
        "p99Micros": max(runs[t]["p99Micros"] for t in needed),
        "notes": "SET/GET mix: harmonic ops/s; p50 ≈ weighted, p99 = max of the two (bound)",
        "version": version,
    }
    parts = []
    for t in ("set", "get"):
        if t in runs:
            parts.append({
                "system": f"redis-{t}",
                "label": f"  Redis {t.upper()} only",
                **runs[t],
                "notes": f"redis-benchmark -t {t}",
            })
    return mix, parts


PG_RUN_LABELS = {
    "equal": "PostgreSQL {v}, {c} clients",
    "pool": "PostgreSQL {v}, {c} clients",
    "pipelined": "PostgreSQL {v}, pipelined",
}
PG_RUN_ORDER = ("equal", "pool", "pipelined")


def postgres_rows(out):
    """One row per pgbench run (pgbench-NAME.txt, .meta.json, NAME/log*)."""
    version = ""
    m = re.search(r"(\d+(\.\d+)+)", first_line(os.path.join(out, "postgres-version.txt")))
    if m:
        version = m.group(1)
    rows = []
    for name in PG_RUN_ORDER:
        text_path = os.path.join(out, f"pgbench-{name}.txt")
        meta_path = os.path.join(out, f"pgbench-{name}.meta.json")
        if not (os.path.exists(text_path) and os.path.exists(meta_path)):
            continue
        meta = load_json(meta_path)
        per_txn = meta["opsPerTransaction"]
        text = open(text_path).read()
        m = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", text, re.M)
        if not m:
            raise SystemExit(f"compare_report: no tps in {text_path}")
        tps = float(m.group(1))
        m = re.search(r"^latency average = ([0-9.]+) ms", text, re.M)
        avg_ms = float(m.group(1)) if m else None
        m = re.search(r"^number of failed transactions: (\d+)", text, re.M)
        failed = int(m.group(1)) if m else 0
        # pgbench -l: one line per transaction; the third column is its latency in µs.
        latencies = []
        for path in glob.glob(os.path.join(out, f"pgbench-{name}", "log*")):
            with open(path) as f:
                for line in f:
                    fields = line.split()
                    if len(fields) >= 3:
                        latencies.append(int(fields[2]))
        latencies.sort()
        if per_txn == 1:
            notes = f"{meta['clients']} clients × 1 in flight, one statement per transaction"
        else:
            notes = (f"{meta['clients']} clients × {per_txn} statements per pipeline, each pipeline"
                     " one transaction; latency is the pipeline's")
        if name == "equal":
            notes += " (same in-flight as the others)"
        elif name == "pool":
            notes += " (2 per core)"
        if not latencies:
            notes += "; p50/p99 unavailable (no pgbench -l log)"
        if failed:
            notes += f"; {failed} failed transactions"
        rows.append({
            "system": f"postgres-{name}",
            "label": PG_RUN_LABELS[name].format(v=version, c=meta["clients"]),
            "opsPerSecond": tps * per_txn,
            "transactionsPerSecond": tps,
            "opsPerTransaction": per_txn,
            "clients": meta["clients"],
            "avgMicros": avg_ms * 1000 if avg_ms is not None else None,
            "p50Micros": percentile(latencies, 50),
            "p99Micros": percentile(latencies, 99),
            "p999Micros": percentile(latencies, 99.9),
            "transactionsLogged": len(latencies),
            "failed": failed,
            "notes": notes,
            "version": version,
        })
    return rows


def volt_rows(out, params, pending):
    peak_path = os.path.join(out, "volt-peak.json")
    if not os.path.exists(peak_path):
        return None, None, pending or "not run"
    rows = []
    for name in ("peak", "half"):
        path = os.path.join(out, f"volt-{name}.json")
        if not os.path.exists(path):
            rows.append(None)
            continue
        doc = load_json(path)
        r = doc["result"]
        opts = doc.get("options", {})
        rate = opts.get("ratePerSecond")
        notes = (f"2 sites, {params['connections']} conn × {params['inFlightPerConnection']} in flight")
        if rate:
            notes = f"--rate {rate:.0f} (50% of peak); " + notes
        failures = r.get("failures", 0)
        if failures:
            notes += f"; {failures} failed calls"
        rows.append({
            "system": f"volt-{name}",
            "label": "voltctl (ours)" if name == "peak" else "voltctl at 50% of peak",
            "opsPerSecond": r["opsPerSecond"],
            "p50Micros": r.get("p50Micros"),
            "p99Micros": r.get("p99Micros"),
            "p999Micros": r.get("p999Micros"),
            "failures": failures,
            "notes": notes,
        })
    return rows[0], rows[1], None


def fmt(value, decimals=0):
    if value is None:
        return "–"
    return f"{value:,.{decimals}f}"


def goal(name, value, target, comparison, pending_reason=None):
    if value is None:
        return {"goal": name, "value": None, "target": target, "status": "pending",
                "why": pending_reason or "not measured"}
    met = value >= target if comparison == ">=" else value < target
    return {"goal": name, "value": value, "target": target, "status": "met" if met else "missed"}


def main():
    args = [a for a in sys.argv[1:] if a != "--json"]
    as_json = "--json" in sys.argv[1:]
    if len(args) != 1:
        raise SystemExit(__doc__)
    out = args[0]
    run = load_json(os.path.join(out, "run.json"))
    params = run["parameters"]
    get_ratio = params["getRatio"]

    redis_mix, redis_parts = redis_rows(out, get_ratio)
    pg_rows = postgres_rows(out)
    # The goal compares with PostgreSQL at its best doing what the others do: one operation per
    # transaction. The pipelined run (a pipeline commits as one transaction) is reported beside.
    per_op = [r for r in pg_rows if r["opsPerTransaction"] == 1]
    pg = max(per_op, key=lambda r: r["opsPerSecond"]) if per_op else None
    pg_pipelined = next((r for r in pg_rows if r["opsPerTransaction"] > 1), None)
    volt_peak, volt_half, volt_pending = volt_rows(out, params, run.get("voltPending"))
    if not run["systems"]["volt"]:
        volt_pending = "not selected (--systems)"

    rows = []
    if volt_peak:
        rows.append(volt_peak)
    else:
        rows.append({"system": "volt-peak", "label": "voltctl (ours)", "opsPerSecond": None,
                     "p50Micros": None, "p99Micros": None, "notes": f"pending: {volt_pending}"})
    if volt_half:
        rows.append(volt_half)
    if redis_mix:
        rows.append(redis_mix)
        rows.extend(redis_parts)
    rows.extend(pg_rows)

    ours = volt_peak["opsPerSecond"] if volt_peak else None
    vs_redis = ours / redis_mix["opsPerSecond"] if ours and redis_mix else None
    vs_pg = ours / pg["opsPerSecond"] if ours and pg else None
    vs_pg_pipelined = ours / pg_pipelined["opsPerSecond"] if ours and pg_pipelined else None
    half_p99 = volt_half["p99Micros"] if volt_half else None
    why = volt_pending or None
    goals = [
        goal("ours/Redis ops/s", vs_redis, GOAL_VS_REDIS, ">=",
             why or ("Redis not measured" if not redis_mix else None)),
        goal("ours/PostgreSQL ops/s", vs_pg, GOAL_VS_POSTGRES, ">=",
             why or ("PostgreSQL not measured" if not pg else None)),
        goal("our p99 µs at 50% of peak", half_p99, GOAL_P99_HALF_MICROS, "<", why),
    ]

    machine = run["machine"]
    summary = {"run": run, "rows": rows,
               "ratios": {"oursOverRedis": vs_redis, "oursOverPostgres": vs_pg,
                          "postgresRunCompared": pg["system"] if pg else None,
                          "oursOverPostgresPipelined": vs_pg_pipelined},
               "goals": goals}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)

    lines = []
    lines.append(
        f"{params['keys']:,} keys × {params['valueBytes']} B, {get_ratio:.0%} GET, "
        f"{params['concurrency']} in flight ({params['connections']} × {params['inFlightPerConnection']}; "
        f"pgbench {params['pgClients']} clients), {params['durationSeconds']} s per system")
    lines.append(
        f"machine: {machine['nproc']} cores ({machine['cpu']}), {machine['memoryGiB']} GiB; "
        f"server and load generator share the cores; load average at start "
        f"{machine['loadAverageAtStart'][0]:.2f}")
    lines.append("")
    header = ("system", "ops/s", "p50 µs", "p99 µs", "notes")
    table = [header]
    for r in rows:
        table.append((r["label"], fmt(r["opsPerSecond"]), fmt(r["p50Micros"]), fmt(r["p99Micros"]), r["notes"]))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for i, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [row[j].rjust(widths[j]) for j in (1, 2, 3)] + [row[4]]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 5)
    lines.append("")
    for g in goals:
        if g["status"] == "pending":
            lines.append(f"{g['goal']}: pending ({g['why']})")
            continue
        target = (f"≥ {g['target']:g}×" if "ops/s" in g["goal"] else f"< {g['target']:,.0f}")
        value = f"{g['value']:.2f}×" if "ops/s" in g["goal"] else f"{g['value']:,.0f}"
        compared = ""
        if g["goal"].startswith("ours/PostgreSQL") and pg:
            compared = f" [vs {pg['label']}]"
        lines.append(f"{g['goal']}: {value} (goal {target}): {g['status']}{compared}")
    if vs_pg_pipelined is not None:
        lines.append(f"ours/PostgreSQL pipelined (not a goal: a pipeline commits as one transaction):"
                     f" {vs_pg_pipelined:.2f}×")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "table.txt"), "w") as f:
        f.write(text)
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
