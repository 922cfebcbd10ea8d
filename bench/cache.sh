#!/usr/bin/env bash
#
# The response cache against proxy_pass, side by side in one run, on the
# mock provider of bench/run.sh (bench/README.md, "The cache"):
#
#   hit.ns    the same non-stream request again and again: every answer
#             from the cache, against proxy_pass of the same request
#   hit.st    the same 100-event stream: a stream hit against proxy_pass
#             of the stream
#   miss.ns   every request a new one (a key, a lookup, a recorded answer
#             kept): llm_cache against proxy_pass, and llm_chat without
#             a cache
#
# and, for the floor, nginx returning the answer itself (return 200);
# then hit latency (p50, p99) against proxy_pass, and the memory of an
# entry: a zone of ZONE_MB filled past full, the oldest entry still kept
# found by bisection (a probe reads, never writes).
#
# Knobs: REPS (5), NS_REQUESTS (50000), NS_CONC (32), ST_STREAMS (4000),
# ST_CONC (32), LAT_SECONDS (10), ZONE_MB (4), FILL (20000), MODULE,
# NGINX_BIN.  Output: build/bench/cache.md.

set -euo pipefail

OUT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/bench/cache"
REPS="${REPS:-5}"
NS_REQUESTS="${NS_REQUESTS:-50000}"
NS_CONC="${NS_CONC:-32}"
ST_STREAMS="${ST_STREAMS:-4000}"
ST_CONC="${ST_CONC:-32}"
LAT_SECONDS="${LAT_SECONDS:-10}"
ZONE_MB="${ZONE_MB:-4}"
FILL="${FILL:-20000}"

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

start_mock
read -r LLM PROXY <<< "$(free_ports 2)"

conf() {   # conf NAME PORT: an nginx.conf, the module's or proxy_pass'
    {
        conf_head "$1"
        cat <<EOF
    upstream mock { server 127.0.0.1:$MOCK_PORT; keepalive 64; }
EOF
        if [ "$1" = llm ]; then
            cat <<EOF
    llm_cache_zone zone=bench:${ZONE_MB}m;
    llm_provider mock dialect=openai upstream=mock;
    llm_model bench-n100-d0 provider=mock;
    server {
        listen 127.0.0.1:$2 backlog=4096;
        location = /v1/chat/completions {
            llm_chat;
            llm_cache bench;
            llm_no_cache \$http_x_probe;
        }
        location = /nocache/v1/chat/completions { llm_chat; }
    }
}
EOF
        else
            cat <<EOF
    server {
        listen 127.0.0.1:$2 backlog=4096;
        # the floor: nginx answering the same bytes itself
        location = /static {
            default_type application/json;
            return 200 '$(sed "s/[\\']/\\\\&/g" "$OUT/answer.json")';
        }
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
        fi
    } > "$OUT/$1/nginx.conf"
}

body() {   # body STREAM [TAG]: the request of bench/run.sh, tagged
    local s=""
    [ "$1" = 1 ] && s=',"stream":true,"stream_options":{"include_usage":true}'
    printf '{"model":"bench-n100-d0","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly and precisely, in plain English."},{"role":"user","content":"Explain in two sentences what a load balancer does and why a gateway in front of several LLM providers is useful.%s"}],"temperature":0.7,"max_tokens":256%s}' "${2:-}" "$s"
}

start llm "$LLM"
curl -s "http://127.0.0.1:$LLM/nocache/v1/chat/completions" \
    -H 'Content-Type: application/json' -d "$(body 0)" > "$OUT/answer.json"
start proxy "$PROXY"

# load NAME PORT PATH SCENARIO REP STREAM LIMIT CONC [UNIQUE]
load() {
    measure "$1" "$4" "$5" "http://127.0.0.1:$2$3" "$8" \
        BENCH_BODY="$(body "$6" "${9:+ __N__}")" BENCH_LIMIT="$7" \
        BENCH_STREAM="$6" BENCH_UNIQUE="${9:+1}" BENCH_FIRST="${FIRST:-1}"
}

say "warm-up (the entries the hits will read are made here)"
load llm "$LLM" /v1/chat/completions warm 0 0 2000 "$NS_CONC"
load llm "$LLM" /v1/chat/completions warm 0 1 200 "$ST_CONC"
load proxy "$PROXY" /v1/chat/completions warm 0 0 2000 "$NS_CONC"
load proxy "$PROXY" /v1/chat/completions warm 0 1 200 "$ST_CONC"
curl -s -D - -o /dev/null "http://127.0.0.1:$LLM/v1/chat/completions" \
    -H 'Content-Type: application/json' -d "$(body 0)" \
    | grep -qi '^x-llm-cache: HIT' || die "the warm-up left no entry"

FIRST=1
for rep in $(seq "$REPS"); do
    say "rep $rep/$REPS"
    load llm "$LLM" /v1/chat/completions hit.ns "$rep" 0 "$NS_REQUESTS" "$NS_CONC"
    load proxy "$PROXY" /v1/chat/completions hit.ns "$rep" 0 "$NS_REQUESTS" "$NS_CONC"
    load proxy "$PROXY" /static static.ns "$rep" 0 "$NS_REQUESTS" "$NS_CONC"
    load llm "$LLM" /v1/chat/completions hit.st "$rep" 1 "$ST_STREAMS" "$ST_CONC"
    load proxy "$PROXY" /v1/chat/completions hit.st "$rep" 1 "$ST_STREAMS" "$ST_CONC"
    load llm "$LLM" /v1/chat/completions miss.ns "$rep" 0 "$NS_REQUESTS" "$NS_CONC" u
    load llm "$LLM" /nocache/v1/chat/completions miss.ns.nocache "$rep" 0 "$NS_REQUESTS" "$NS_CONC" u
    load proxy "$PROXY" /v1/chat/completions miss.ns "$rep" 0 "$NS_REQUESTS" "$NS_CONC" u
    FIRST=$((FIRST + NS_REQUESTS + 1000))
done

say "latency of hits, $LAT_SECONDS s each"
lat() {
    BENCH_BODY="$(body 0)" BENCH_LIMIT=100000000 BENCH_STREAM=0 \
        taskset -c "$GEN_CPU" wrk -t1 -c"$NS_CONC" -d"${LAT_SECONDS}s" \
            --latency -s "$BENCH/wrk_count.lua" "http://127.0.0.1:$1$2" \
        | awk '$1 == "50%" || $1 == "99%" { printf "%s ", $2 }'
}
LAT_LLM="$(lat "$LLM" /v1/chat/completions)"
LAT_PROXY="$(lat "$PROXY" /v1/chat/completions)"

say "memory per entry: $FILL new answers into a ${ZONE_MB} MB zone"
FIRST=900000000
load llm "$LLM" /v1/chat/completions fill 0 0 "$FILL" 1 u
probe() {   # HIT or MISS for the N-th answer of the fill, never kept
    curl -s -D - -o /dev/null "http://127.0.0.1:$LLM/v1/chat/completions" \
        -H 'Content-Type: application/json' -H 'X-Probe: 1' \
        -d "$(body 0 " $((FIRST + $1 - 1))")" \
        | awk 'tolower($1) == "x-llm-cache:" { print $2 }' | tr -d '\r'
}
[ "$(probe "$FILL")" = HIT ] || die "the last answer of the fill is not kept"
lo=1; hi="$FILL"
if [ "$(probe 1)" = HIT ]; then
    die "the zone did not fill: raise FILL"
fi
while [ $((hi - lo)) -gt 1 ]; do
    mid=$(((lo + hi) / 2))
    if [ "$(probe "$mid")" = HIT ]; then hi="$mid"; else lo="$mid"; fi
done
KEPT=$((FILL - hi + 1))
ANSWER="$(curl -s "http://127.0.0.1:$PROXY/v1/chat/completions" \
    -H 'Content-Type: application/json' -d "$(body 0)" | wc -c)"

python3 - "$OUT/raw.tsv" "$CLK_TCK" "$LAT_LLM" "$LAT_PROXY" "$ZONE_MB" \
    "$KEPT" "$ANSWER" <<'EOF' | tee "$OUT/../cache.md"
import statistics, sys
raw, tck, lat_llm, lat_proxy, zone_mb, kept, answer = sys.argv[1:8]
cpu = {}
for line in open(raw):
    name, sc, rep, done, ticks = line.split("\t")
    if sc in ("warm", "fill"):
        continue
    cpu.setdefault((name, sc), []).append(
        int(ticks) * 1000 / int(tck) / int(done) * 1000)
def med(name, sc):
    return statistics.median(cpu[(name, sc)])
def paired(sc, other="proxy"):
    v = sorted(a / b for a, b in zip(cpu[("llm", sc)], cpu[(other, sc)]))
    return "%.2f× (%.2f–%.2f)" % (statistics.median(v), v[0], v[-1])
print("| measure | llm_cache | proxy_pass | ratio | paired runs: median "
      "(min–max) | goal |")
print("|---|---:|---:|---:|---:|:---:|")
for sc, label, goal in (
        ("hit.ns", "CPU ms per 1,000 non-stream hits", 0.5),
        ("hit.st", "CPU ms per 1,000 stream hits of 100 events", 0.5),
        ("miss.ns", "CPU ms per 1,000 non-stream misses (each kept)", 1.3)):
    a, b = med("llm", sc), med("proxy", sc)
    print("| %s | %.0f | %.0f | %.2f× | %s | %s (≤ %.1f×) |"
          % (label, a, b, a / b, paired(sc),
             "ok" if a / b <= goal else "**no**", goal))
a = med("proxy", "static.ns")
print("| the floor: nginx returning the same answer itself (`return 200`) "
      "| %.0f | %.0f | %.2f× | | |" % (a, med("proxy", "hit.ns"),
                                       a / med("proxy", "hit.ns")))
a = med("llm", "miss.ns.nocache")
print("| the misses' requests to llm_chat without a cache | %.0f | %.0f "
      "| %.2f× | | |" % (a, med("proxy", "miss.ns"), a / med("proxy", "miss.ns")))
l, p = lat_llm.split(), lat_proxy.split()
print("| latency of non-stream hits, p50 / p99 | %s / %s | %s / %s | | | |"
      % (l[0], l[1], p[0], p[1]))
per = int(zone_mb) * 1048576 / int(kept)
print("| entries kept in a %s MB zone; bytes per entry | %s; %.0f | | | | |"
      % (zone_mb, kept, per))
print("| the answer as a chat.completion, bytes | %s | | | | |" % answer)
EOF
