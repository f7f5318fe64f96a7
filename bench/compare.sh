#!/usr/bin/env bash
# bench/compare.sh: our server (voltctl) against Redis and PostgreSQL on one key-value workload,
# in one run on this machine, printed as one table.
#
# The workload is voltkv's: STORE(key VARCHAR PRIMARY KEY, value VARBINARY), --keys keys of
# --value-bytes bytes loaded first, then random GETs and PUTs at --get-ratio with the same number
# of requests in flight against every system (--connections × --in-flight). Each server runs
# alone on 127.0.0.1 (started, measured, stopped in turn), from a temporary directory this script
# owns; the load generator shares the machine's cores with it. See docs/BENCHMARKS.md
# ("Server vs Redis vs PostgreSQL") for what each number means and how fair it is.
#
# Raw outputs go to bench/out/<UTC timestamp>/ (bench/out/latest points at the last run).
# Run as root on a Debian machine to let it install Redis/PostgreSQL and run PostgreSQL as the
# `postgres` user; as another user it needs them installed and runs PostgreSQL as itself.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/compare.sh [options]

  --duration S        measured seconds per system (default 10; Redis: S/2 for SET, S/2 for GET)
  --warmup S          warm-up seconds before measuring voltctl and PostgreSQL (default 2)
  --keys N            distinct keys, all loaded before measuring (default 100000)
  --value-bytes B     value size in bytes (default 100)
  --get-ratio R       fraction of operations that are GETs, 0..1 (default 0.5)
  --connections C     client connections (default 2)
  --in-flight N       requests in flight per connection (default 32); the concurrency for every
                      system is C × N: voltctl --connections C --max-in-flight N, redis-benchmark
                      -c C -P N, pgbench -c C×N (one request in flight per PostgreSQL client)
  --pg-clients N      clients of the first pgbench run instead of C × N. PostgreSQL is also
                      measured with 2 clients per core (its best on few cores: a process per
                      client) and pipelined (C clients × N statements per pipeline); the goal
                      ratio uses the better of the two one-statement-per-transaction runs
  --systems LIST      comma-separated subset of volt,redis,postgres (default all three)
  --voltctl PATH      use this voltctl binary; implies --no-build
  --no-build          do not run swift build (use .build/release/voltctl)
  --no-install        do not apt-get install missing Redis/PostgreSQL packages
  --ready-timeout S   seconds to wait for a server to accept work (default 60)
  --out DIR           raw output directory (default bench/out/<UTC timestamp>)
  --json              print the summary as JSON instead of the table
  -h, --help          this text
EOF
}

log() { printf 'compare: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)

DURATION=10
WARMUP=2
KEYS=100000
VALUE_BYTES=100
GET_RATIO=0.5
CONNECTIONS=2
IN_FLIGHT=32
PG_CLIENTS=""
SYSTEMS="volt,redis,postgres"
VOLTCTL=""
BUILD=1
INSTALL=1
READY_TIMEOUT=60
OUT=""
JSON=0

need_value() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --duration) need_value "$@"; DURATION=$2; shift 2 ;;
        --warmup) need_value "$@"; WARMUP=$2; shift 2 ;;
        --keys) need_value "$@"; KEYS=$2; shift 2 ;;
        --value-bytes) need_value "$@"; VALUE_BYTES=$2; shift 2 ;;
        --get-ratio) need_value "$@"; GET_RATIO=$2; shift 2 ;;
        --connections) need_value "$@"; CONNECTIONS=$2; shift 2 ;;
        --in-flight) need_value "$@"; IN_FLIGHT=$2; shift 2 ;;
        --pg-clients) need_value "$@"; PG_CLIENTS=$2; shift 2 ;;
        --systems) need_value "$@"; SYSTEMS=$2; shift 2 ;;
        --voltctl) need_value "$@"; VOLTCTL=$2; BUILD=0; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-install) INSTALL=0; shift ;;
        --ready-timeout) need_value "$@"; READY_TIMEOUT=$2; shift 2 ;;
        --out) need_value "$@"; OUT=$2; shift 2 ;;
        --json) JSON=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
for pair in "duration:$DURATION" "warmup:$WARMUP" "keys:$KEYS" "value-bytes:$VALUE_BYTES" \
    "connections:$CONNECTIONS" "in-flight:$IN_FLIGHT" "ready-timeout:$READY_TIMEOUT"; do
    is_uint "${pair#*:}" || die "--${pair%%:*} must be a whole number, got '${pair#*:}'"
done
((DURATION >= 2)) || die "--duration must be at least 2 seconds"
((KEYS >= 1 && VALUE_BYTES >= 1 && CONNECTIONS >= 1 && IN_FLIGHT >= 1)) \
    || die "--keys, --value-bytes, --connections and --in-flight must be at least 1"
python3 -c 'import sys; r = float(sys.argv[1]); sys.exit(0 if 0 <= r <= 1 else 1)' "$GET_RATIO" 2>/dev/null \
    || die "--get-ratio must be a number from 0 to 1, got '$GET_RATIO'"
CONCURRENCY=$((CONNECTIONS * IN_FLIGHT))
if [[ -z $PG_CLIENTS ]]; then PG_CLIENTS=$CONCURRENCY; fi
is_uint "$PG_CLIENTS" && ((PG_CLIENTS >= 1)) || die "--pg-clients must be at least 1"

RUN_VOLT=0 RUN_REDIS=0 RUN_PG=0
IFS=',' read -r -a _systems <<<"$SYSTEMS"
for s in "${_systems[@]}"; do
    case $s in
        volt|voltctl|ours) RUN_VOLT=1 ;;
        redis) RUN_REDIS=1 ;;
        postgres|postgresql|pg) RUN_PG=1 ;;
        *) die "unknown system in --systems: $s (use volt, redis, postgres)" ;;
    esac
done

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
if [[ -z $OUT ]]; then
    OUT="$SCRIPT_DIR/out/$STAMP"
    mkdir -p "$OUT"
    ln -sfn "$STAMP" "$SCRIPT_DIR/out/latest"
else
    mkdir -p "$OUT"
fi
OUT=$(cd "$OUT" && pwd)

# ---------------------------------------------------------------------------------------------
# Everything started here is recorded and stopped on exit, success or not.

WORK=$(mktemp -d "${TMPDIR:-/tmp}/voltbench.XXXXXX")
chmod 0755 "$WORK"    # the postgres user must reach its data directory inside
STARTED_PIDS=()       # children of this shell: redis-server, voltctl start
PG_DATA=""            # set once initdb ran; pg_ctl daemonizes, so it is stopped through pg_ctl

# A process counts as alive until it has exited; a zombie child is reaped by `wait`.
alive() {
    local pid=$1 state
    [[ -r /proc/$pid/stat ]] || return 1
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

# SIGTERM, then SIGKILL after a bounded wait.
stop_pid() {
    local pid=$1 name=$2 i
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.1; done
        if alive "$pid"; then
            log "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

forget_pid() {
    local pid=$1 kept=() p
    for p in "${STARTED_PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
    STARTED_PIDS=("${kept[@]}")
}

as_pg() {
    if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_postgres() {
    [[ -n $PG_DATA && -f $PG_DATA/postmaster.pid ]] || { PG_DATA=""; return 0; }
    local pid
    pid=$(head -1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
    as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 20 >/dev/null 2>&1 || true
    if [[ -n $pid ]] && alive "$pid"; then
        log "PostgreSQL (pid $pid) did not stop through pg_ctl; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    PG_DATA=""
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    stop_postgres
    local pid
    for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid" "process"; done
    # Keep the server logs with the raw outputs before the temporary directory goes.
    if [[ -f $WORK/pg/postgres.log ]]; then cp "$WORK/pg/postgres.log" "$OUT/postgres-server.log"; fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_until DESCRIPTION TIMEOUT PID COMMAND...: polls COMMAND until it succeeds; fails early if
# PID (when not empty) has exited.
wait_until() {
    local what=$1 timeout=$2 pid=$3
    shift 3
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        if [[ -n $pid ]] && ! alive "$pid"; then log "$what exited before it was ready"; return 1; fi
        if ((SECONDS >= deadline)); then log "$what not ready after ${timeout}s"; return 1; fi
        sleep 0.2
    done
}

# ---------------------------------------------------------------------------------------------
# Tools: install what is missing (Debian packages), build voltctl.

PG_BIN=""
find_pg_bin() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/pgbench ]]; then PG_BIN=$d; return 0; fi
    done
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null && command -v pgbench >/dev/null; then
        PG_BIN=$(dirname "$(readlink -f "$(command -v initdb)")")
        return 0
    fi
    return 1
}

install_missing() {
    local packages=()
    if ((RUN_REDIS)); then
        command -v redis-server >/dev/null || packages+=(redis-server)
        if ! command -v redis-benchmark >/dev/null || ! command -v redis-cli >/dev/null; then packages+=(redis-tools); fi
    fi
    # Debian 12: initdb, pg_ctl and pgbench are in postgresql-15 (pulled in by postgresql);
    # psql in postgresql-client-15. postgresql-contrib is a transitional package there.
    if ((RUN_PG)); then
        if ! find_pg_bin || ! command -v psql >/dev/null; then packages+=(postgresql postgresql-contrib); fi
    fi
    ((${#packages[@]})) || return 0
    ((INSTALL)) || die "missing packages: ${packages[*]} (and --no-install given)"
    local sudo=()
    if [[ $EUID -ne 0 ]]; then
        command -v sudo >/dev/null || die "missing packages ${packages[*]}; run as root or install them"
        sudo=(sudo)
    fi
    log "installing ${packages[*]}"
    "${sudo[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${packages[@]}" >&2
}

install_missing
if ((RUN_PG)); then
    find_pg_bin || die "PostgreSQL binaries (initdb, pg_ctl, pgbench) not found"
    PSQL=$PG_BIN/psql
    [[ -x $PSQL ]] || PSQL=$(command -v psql)
    if [[ $EUID -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        log "creating the postgres system user"
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
fi

VOLT_PENDING=""
if ((RUN_VOLT)); then
    if ((BUILD)); then
        log "building voltctl (swift build -c release --product voltctl)"
        (cd "$REPO" && swift build -c release --product voltctl) >"$OUT/build.log" 2>&1 \
            || { tail -30 "$OUT/build.log" >&2; die "swift build failed (see $OUT/build.log)"; }
    fi
    if [[ -z $VOLTCTL ]]; then
        VOLTCTL="$(cd "$REPO" && swift build -c release --show-bin-path)/voltctl"
    fi
    [[ -x $VOLTCTL ]] || die "voltctl not found at $VOLTCTL"
    # Until the server and the wire client have landed, report ours as pending instead of failing.
    if ! "$VOLTCTL" start --help >/dev/null 2>&1; then
        VOLT_PENDING="voltctl has no 'start' yet (the network server has not landed)"
    elif ! "$VOLTCTL" bench kv --help 2>&1 | grep -q -- '--max-in-flight'; then
        VOLT_PENDING="voltctl bench kv has no wire client yet (the client has not landed)"
    fi
    if [[ -n $VOLT_PENDING ]]; then log "voltctl is pending: $VOLT_PENDING"; fi
fi

# ---------------------------------------------------------------------------------------------
# Machine and parameters, recorded with the raw outputs.

python3 - "$OUT/run.json" <<EOF
import json, os, platform, sys
cpu = ""
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
mem_kb = 0
with open("/proc/meminfo") as f:
    for line in f:
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1]); break
json.dump({
    "startedUtc": "$STAMP",
    "machine": {"nproc": os.cpu_count(), "cpu": cpu, "memoryGiB": round(mem_kb / 1048576, 1),
                "kernel": platform.release(), "loadAverageAtStart": list(os.getloadavg())},
    "parameters": {"durationSeconds": $DURATION, "warmupSeconds": $WARMUP, "keys": $KEYS,
                   "valueBytes": $VALUE_BYTES, "getRatio": float("$GET_RATIO"),
                   "connections": $CONNECTIONS, "inFlightPerConnection": $IN_FLIGHT,
                   "concurrency": $CONCURRENCY, "pgClients": $PG_CLIENTS},
    "systems": {"volt": bool($RUN_VOLT), "redis": bool($RUN_REDIS), "postgres": bool($RUN_PG)},
    "voltPending": "$VOLT_PENDING",
}, open(sys.argv[1], "w"), indent=2)
EOF
log "raw outputs: $OUT"
log "workload: $KEYS keys × $VALUE_BYTES B, get ratio $GET_RATIO, concurrency $CONCURRENCY" \
    "($CONNECTIONS × $IN_FLIGHT), ${DURATION}s per system; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------------------------
# Redis: SET and GET measured separately by redis-benchmark (its -t tests are one command each),
# after every key is written once. Keys are redis-benchmark's own spelling, key:%012d.

run_redis() {
    local port dir pid
    port=$(free_port)
    dir=$WORK/redis
    mkdir -p "$dir"
    redis-server --version >"$OUT/redis-version.txt"
    log "Redis: starting on 127.0.0.1:$port"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --dir "$dir" >"$OUT/redis-server.log" 2>&1 &
    pid=$!
    STARTED_PIDS+=("$pid")
    wait_until "redis-server" "$READY_TIMEOUT" "$pid" \
        bash -c "[[ \$(redis-cli -h 127.0.0.1 -p $port ping) == PONG ]]" \
        || { tail -20 "$OUT/redis-server.log" >&2; die "Redis did not start"; }

    log "Redis: loading $KEYS keys"
    python3 - "$KEYS" "$VALUE_BYTES" <<'EOF' | redis-cli -h 127.0.0.1 -p "$port" --pipe >"$OUT/redis-load.txt" 2>&1
import sys
keys, size = int(sys.argv[1]), int(sys.argv[2])
value = b"x" * size   # redis-benchmark's -d value is also size bytes of 'x'
out = sys.stdout.buffer
for i in range(keys):
    k = b"key:%012d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, size, value))
EOF
    local loaded
    loaded=$(redis-cli -h 127.0.0.1 -p "$port" dbsize)
    [[ $loaded == "$KEYS" ]] || die "Redis holds $loaded keys after loading $KEYS"

    local common=(-h 127.0.0.1 -p "$port" -r "$KEYS" -d "$VALUE_BYTES" -c "$CONNECTIONS" -P "$IN_FLIGHT" --csv)
    # redis-benchmark counts requests, not seconds: a short calibration run (which also warms
    # up) sizes each measured run to about half of --duration.
    log "Redis: calibrating"
    redis-benchmark "${common[@]}" -t set,get -n 200000 >"$OUT/redis-calibrate.csv" 2>/dev/null
    local test n
    for test in set get; do
        n=$(python3 - "$OUT/redis-calibrate.csv" "$test" "$DURATION" <<'EOF'
import csv, sys
rows = {r["test"].lower(): float(r["rps"]) for r in csv.DictReader(open(sys.argv[1]))}
print(max(10000, int(rows[sys.argv[2]] * float(sys.argv[3]) / 2)))
EOF
        )
        log "Redis: ${test^^} × $n (-c $CONNECTIONS -P $IN_FLIGHT)"
        redis-benchmark "${common[@]}" -t "$test" -n "$n" >"$OUT/redis-$test.csv" 2>/dev/null
    done
    stop_pid "$pid" "redis-server"
    forget_pid "$pid"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL: its own cluster in the temporary directory, settings closest to in-memory
# (no fsync, asynchronous commit, no full-page writes) and an UNLOGGED table (no WAL at all),
# pgbench with prepared statements over TCP, GET and PUT scripts weighted by the get ratio.

# run_pgbench NAME CLIENTS OPS_PER_TRANSACTION SCRIPT_OPTIONS...: one measured pgbench run, its
# summary in pgbench-NAME.txt, its per-transaction latency log in pgbench-NAME/ and what it was
# in pgbench-NAME.meta.json.
PGBENCH=()
run_pgbench() {
    local name=$1 clients=$2 per_txn=$3
    shift 3
    local threads=$((clients < 2 ? clients : 2))
    log "PostgreSQL ($name): pgbench -c $clients -j $threads -T $DURATION, $per_txn statement(s) per transaction"
    rm -rf "$OUT/pgbench-$name"
    mkdir -p "$OUT/pgbench-$name"
    "${PGBENCH[@]}" "$@" -c "$clients" -j "$threads" -T "$DURATION" -r -l \
        --log-prefix="$OUT/pgbench-$name/log" postgres >"$OUT/pgbench-$name.txt" 2>&1 \
        || { tail -20 "$OUT/pgbench-$name.txt" >&2; die "pgbench ($name) failed"; }
    printf '{"name": "%s", "clients": %d, "opsPerTransaction": %d}\n' "$name" "$clients" "$per_txn" \
        >"$OUT/pgbench-$name.meta.json"
}

run_postgres() {
    local port data sock
    port=$(free_port)
    data=$WORK/pg/data
    sock=$WORK/pg/sock
    mkdir -p "$data" "$sock"
    if [[ $EUID -eq 0 ]]; then chown -R postgres: "$WORK/pg"; fi
    chmod 0700 "$data"
    "$PG_BIN/postgres" --version >"$OUT/postgres-version.txt"
    log "PostgreSQL: initdb"
    as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C \
        >"$OUT/postgres-initdb.log" 2>&1 || { tail -20 "$OUT/postgres-initdb.log" >&2; die "initdb failed"; }
    local max_conn=$((PG_CLIENTS + 10 > 100 ? PG_CLIENTS + 10 : 100))
    log "PostgreSQL: starting on 127.0.0.1:$port"
    PG_DATA=$data
    as_pg "$PG_BIN/pg_ctl" start -D "$data" -l "$WORK/pg/postgres.log" -w -t "$READY_TIMEOUT" \
        -o "-p $port -k $sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=$max_conn" \
        >"$OUT/postgres-start.log" 2>&1 || { tail -20 "$WORK/pg/postgres.log" >&2; die "PostgreSQL did not start"; }
    wait_until "PostgreSQL" "$READY_TIMEOUT" "" "$PSQL" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc 'select 1' \
        || die "PostgreSQL does not answer queries"

    local psql=("$PSQL" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q)
    log "PostgreSQL: loading $KEYS keys"
    "${psql[@]}" >"$OUT/postgres-load.txt" 2>&1 <<EOF || { cat "$OUT/postgres-load.txt" >&2; die "PostgreSQL load failed"; }
CREATE UNLOGGED TABLE store (key varchar(250) PRIMARY KEY, value bytea);
INSERT INTO store SELECT 'K' || lpad(i::text, 9, '0'), decode(repeat('78', $VALUE_BYTES), 'hex')
    FROM generate_series(0, $KEYS - 1) AS i;
VACUUM ANALYZE store;
EOF

    # The key is voltctl's spelling (K + 9 digits), built from the random number on the server;
    # the value is passed as a bytea parameter in hex.
    local scripts=$WORK/pg/scripts
    mkdir -p "$scripts"
    cat >"$scripts/get.sql" <<EOF
\set k random(0, $KEYS - 1)
SELECT value FROM store WHERE key = 'K' || lpad(:k::text, 9, '0');
EOF
    cat >"$scripts/put.sql" <<EOF
\set k random(0, $KEYS - 1)
INSERT INTO store (key, value) VALUES ('K' || lpad(:k::text, 9, '0'), :v)
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
EOF
    # The same mix as one pipeline per transaction: --in-flight statements sent back to back
    # (round(R × N) GETs spread among the PUTs), like redis-benchmark -P. pgbench 15 sends one
    # Sync per pipeline, so each pipeline commits as one transaction: fewer commits than the
    # other systems do, which favours PostgreSQL.
    python3 - "$KEYS" "$GET_RATIO" "$IN_FLIGHT" >"$scripts/pipeline.sql" <<'EOF'
import sys
keys, ratio, n = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
gets = round(ratio * n)
print(r"\startpipeline")
for i in range(n):
    is_get = (i + 1) * gets // n > i * gets // n   # evenly spread
    print(rf"\set k{i} random(0, {keys - 1})")
    if is_get:
        print(f"SELECT value FROM store WHERE key = 'K' || lpad(:k{i}::text, 9, '0');")
    else:
        print(f"INSERT INTO store (key, value) VALUES ('K' || lpad(:k{i}::text, 9, '0'), :v) "
              "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;")
print(r"\endpipeline")
EOF
    cp "$scripts/get.sql" "$scripts/put.sql" "$scripts/pipeline.sql" "$OUT/"
    local weights get_w put_w
    weights=$(python3 -c 'import sys; g = round(float(sys.argv[1]) * 1000); print(g, 1000 - g)' "$GET_RATIO")
    read -r get_w put_w <<<"$weights"
    local mix=()
    if ((get_w > 0)); then mix+=(-f "$scripts/get.sql@$get_w"); fi
    if ((put_w > 0)); then mix+=(-f "$scripts/put.sql@$put_w"); fi
    local value
    value="\\x$(python3 -c 'import sys; print("78" * int(sys.argv[1]))' "$VALUE_BYTES")"
    PGBENCH=("$PG_BIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -n -M prepared -D "v=$value")

    if ((WARMUP > 0)); then
        log "PostgreSQL: warming up ${WARMUP}s"
        "${PGBENCH[@]}" "${mix[@]}" -c "$PG_CLIENTS" -j "$((PG_CLIENTS < 2 ? PG_CLIENTS : 2))" -T "$WARMUP" postgres >"$OUT/pgbench-warmup.txt" 2>&1 \
            || { tail -20 "$OUT/pgbench-warmup.txt" >&2; die "pgbench warm-up failed"; }
    fi
    # 1. The same number of requests in flight as the others, one per client (the brief's run).
    run_pgbench equal "$PG_CLIENTS" 1 "${mix[@]}"
    # 2. A pool-sized client count (2 per core): where PostgreSQL's process-per-connection
    #    model does best on few cores; skipped when it is the same as run 1.
    local pool=$((2 * $(nproc)))
    if ((pool != PG_CLIENTS)); then run_pgbench pool "$pool" 1 "${mix[@]}"; fi
    # 3. Pipelined: --connections clients × --in-flight statements per pipeline.
    run_pgbench pipelined "$CONNECTIONS" "$IN_FLIGHT" -f "$scripts/pipeline.sql"
    "${psql[@]}" -Atc 'select count(*) from store' >"$OUT/postgres-rows.txt"
    stop_postgres
}

# ---------------------------------------------------------------------------------------------
# Ours: one host, two sites, no K-safety, no command log or snapshots (absent from the
# deployment, so off), measured by voltctl bench kv over the client wire protocol.

run_volt() {
    local root=$WORK/volt client admin internal http pid
    mkdir -p "$WORK/volt-config"
    cat >"$WORK/volt-config/deployment.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<deployment>
  <cluster sitesperhost="2" kfactor="0"/>
</deployment>
EOF
    cp "$WORK/volt-config/deployment.xml" "$OUT/volt-deployment.xml"
    # voltctl has no --version: the binary and, when built here, the commit identify it.
    {
        echo "binary: $VOLTCTL"
        if ((BUILD)); then
            echo "built from: $(git -C "$REPO" rev-parse HEAD)"
            git -C "$REPO" status --porcelain --untracked-files=no
        fi
    } >"$OUT/volt-version.txt" 2>/dev/null || true
    log "voltctl: init"
    "$VOLTCTL" init --dir "$root" --config "$WORK/volt-config/deployment.xml" >"$OUT/volt-init.log" 2>&1 \
        || { cat "$OUT/volt-init.log" >&2; die "voltctl init failed"; }
    client=$(free_port) admin=$(free_port) internal=$(free_port) http=$(free_port)
    log "voltctl: starting on 127.0.0.1:$client"
    # [ip:]port: every port bound to 127.0.0.1 only.
    "$VOLTCTL" start --dir "$root" --client "127.0.0.1:$client" --admin "127.0.0.1:$admin" \
        --internal "127.0.0.1:$internal" --http "127.0.0.1:$http" \
        >"$OUT/volt-server.log" 2>&1 &
    pid=$!
    STARTED_PIDS+=("$pid")
    wait_until "voltctl start" "$READY_TIMEOUT" "$pid" grep -q 'Server completed initialization.' "$OUT/volt-server.log" \
        || { tail -30 "$OUT/volt-server.log" >&2; die "voltctl start did not become ready"; }

    local bench=("$VOLTCTL" bench kv --servers "127.0.0.1:$client" --keys "$KEYS" --value-bytes "$VALUE_BYTES"
        --get-ratio "$GET_RATIO" --duration "$DURATION" --warmup "$WARMUP"
        --connections "$CONNECTIONS" --max-in-flight "$IN_FLIGHT" --json)
    log "voltctl: bench kv at full speed (--connections $CONNECTIONS --max-in-flight $IN_FLIGHT)"
    "${bench[@]}" >"$OUT/volt-peak.json" 2>"$OUT/volt-peak.err" \
        || { tail -20 "$OUT/volt-peak.err" >&2; die "voltctl bench kv failed"; }
    local half
    half=$(python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["result"]["opsPerSecond"] / 2))' \
        "$OUT/volt-peak.json")
    ((half > 0)) || die "voltctl bench kv measured no throughput"
    log "voltctl: bench kv at half of peak (--rate $half)"
    "${bench[@]}" --rate "$half" >"$OUT/volt-half.json" 2>"$OUT/volt-half.err" \
        || { tail -20 "$OUT/volt-half.err" >&2; die "voltctl bench kv --rate failed"; }
    stop_pid "$pid" "voltctl start"
    forget_pid "$pid"
}

# ---------------------------------------------------------------------------------------------

T0=$SECONDS
if ((RUN_REDIS)); then run_redis; fi
if ((RUN_PG)); then run_postgres; fi
if ((RUN_VOLT)) && [[ -z $VOLT_PENDING ]]; then run_volt; fi
log "measured in $((SECONDS - T0))s"

report_args=("$OUT")
((JSON)) && report_args+=(--json)
python3 "$SCRIPT_DIR/compare_report.py" "${report_args[@]}"
