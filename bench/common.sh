# The pieces bench/cache.sh and bench/agent.sh share, sourced after they
# set OUT: the tools, the mock provider, free ports, an nginx started
# pinned to its CPU, its worker, a load run that counts the worker's CPU.
#
# Each script defines conf NAME PORT (writes $OUT/NAME/nginx.conf, after
# conf_head NAME).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
MODULE="${MODULE:-$ROOT/build/ngx_http_llm_module.so}"
NGINX_BIN="${NGINX_BIN:-/usr/sbin/nginx}"

NGX_CPU=1
GEN_CPU=0
[ "$(nproc)" -ge 2 ] || { NGX_CPU=0; GEN_CPU=0; }

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

for t in "$NGINX_BIN" wrk cc python3 taskset curl; do
    command -v "$t" >/dev/null 2>&1 || die "$t is needed"
done
[ -f "$MODULE" ] || die "$MODULE is missing: run ./build.sh first"
ulimit -n 65536 2>/dev/null || true

CLK_TCK="$(getconf CLK_TCK)"
rm -rf "$OUT"
mkdir -p "$OUT"
: > "$OUT/raw.tsv"

PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# the mock provider of bench/run.sh, on CPU GEN_CPU: sets MOCK_PORT
start_mock() {
    cc -O2 -Wall -o "$OUT/mock_upstream" "$BENCH/mock_upstream.c"
    taskset -c "$GEN_CPU" "$OUT/mock_upstream" 0 > "$OUT/mock.out" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do
        MOCK_PORT="$(awk '/^PORT/ {print $2}' "$OUT/mock.out" 2>/dev/null)"
        [ -n "${MOCK_PORT:-}" ] && return 0
        sleep 0.1
    done
    die "the mock did not start"
}

free_ports() {   # free_ports N: N free ports on 127.0.0.1
    python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}

# conf_head NAME: the start of NAME's nginx.conf, to its http block's
# first lines (one worker, its logs and temporary files under $OUT/NAME)
conf_head() {
    local prefix="$OUT/$1"
    [ "$1" = llm ] && echo "load_module $MODULE;"
    cat <<EOF
worker_processes 1;
daemon off;
pid $prefix/logs/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
EOF
}

# start NAME PORT [VAR=VALUE]: conf NAME PORT, then nginx on CPU NGX_CPU,
# with VAR=VALUE in its environment when given
start() {
    local environment=()
    mkdir -p "$OUT/$1/logs" "$OUT/$1/tmp"
    conf "$1" "$2"
    [ -n "${3:-}" ] && environment=("$3")
    env "${environment[@]}" \
        taskset -c "$NGX_CPU" "$NGINX_BIN" -p "$OUT/$1/" \
            -c "$OUT/$1/nginx.conf" -e "$OUT/$1/logs/error.log" &
    PIDS+=($!)
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$2/" && return 0
        sleep 0.1
    done
    die "nginx ($1) did not start"
}

worker() { pgrep -f "nginx: worker" -P "$(cat "$OUT/$1/logs/nginx.pid")"; }

# measure NAME SCENARIO REP URL CONC [VAR=VALUE ...]: a wrk_count.lua run
# of CONC connections (its BENCH_* knobs as VAR=VALUE), the worker's CPU
# ticks and the answers completed appended to raw.tsv; any error or bad
# body ends the bench
measure() {
    local name="$1" sc="$2" rep="$3" url="$4" conc="$5" w c0 c1 res
    shift 5
    w="$(worker "$name")"
    c0="$(awk '{print $14 + $15}' "/proc/$w/stat")"
    res="$(env "$@" taskset -c "$GEN_CPU" wrk -t1 -c"$conc" -d120s \
               --timeout 30s -s "$BENCH/wrk_count.lua" "$url" \
           | grep '^RESULT')"
    c1="$(awk '{print $14 + $15}' "/proc/$w/stat")"
    case "$res" in *" errors=0 bad_body=0 "*) ;;
        *) die "$name/$sc: $res" ;; esac
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$sc" "$rep" \
        "$(sed 's/.*completed=\([0-9]*\).*/\1/' <<< "$res")" \
        "$((c1 - c0))" >> "$OUT/raw.tsv"
}
