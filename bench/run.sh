#!/usr/bin/env bash
#
# The gateway benchmark: llm_chat against plain nginx proxy_pass, side by
# side in one run, on the same mock provider (bench/README.md).
#
#   ./build.sh bench         build the module, then run this
#   bench/run.sh             run with the module already built
#
# Knobs (environment): REPS (7: CPU runs), MEM_REPS (3: memory runs),
# PHASES ("cpu mem stall"), STALL_STREAMS (200), STALL_EVENTS (20000), SCENARIOS ("ns st sp": the CPU runs), NS_REQUESTS (50000), NS_CONC (32), ST_STREAMS (4000),
# ST_CONC (32), SP_STREAMS (1000), SP_CONC (64), MEM_STREAMS (1000),
# MEM_DELAY_MS (100), NGINX_BIN (/usr/sbin/nginx), PHASE_SECONDS (60: the time
# bound of one load phase), LLM_CONF_EXTRA / PROXY_CONF_EXTRA (directives
# added to the llm_chat / proxy_pass location, for experiments),
# LLM_HTTP_EXTRA (directives added to the llm nginx's http block, e.g.
# "llm_metrics zone=m:1m;"),
# DIALECTS ("openai anthropic gemini msgant msgoai rspoai": which provider dialects
# are measured; anthropic/gemini: OpenAI in, native out, against proxy_pass
# of the native request; msgant: Anthropic Messages in (llm_messages) and
# relayed to Anthropic, against proxy_pass of the same request; msgoai:
# Messages in, OpenAI out, against proxy_pass of the OpenAI request;
# rspoai: OpenAI Responses in (llm_responses), OpenAI Chat out, against
# proxy_pass of the OpenAI Chat request),
# DIALECT_REPS (3: CPU runs per scenario for those; their memory runs use
# MEM_REPS).
#
# Everything talks to 127.0.0.1 only.  Output: a table on stdout and in
# build/bench/results.md; raw figures in build/bench/raw.tsv and
# build/bench/mem.jsonl; logs under build/bench/{llm,proxy}/logs.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
OUT="$ROOT/build/bench"
MODULE="${MODULE:-$ROOT/build/ngx_http_llm_module.so}"
NGINX_BIN="${NGINX_BIN:-/usr/sbin/nginx}"

REPS="${REPS:-7}"
MEM_REPS="${MEM_REPS:-3}"
PHASES="${PHASES:-cpu mem stall}"
SCENARIOS="${SCENARIOS:-ns st sp}"
LLM_CONF_EXTRA="${LLM_CONF_EXTRA:-}"
LLM_HTTP_EXTRA="${LLM_HTTP_EXTRA:-}"
PROXY_CONF_EXTRA="${PROXY_CONF_EXTRA:-}"
NS_REQUESTS="${NS_REQUESTS:-50000}"
NS_CONC="${NS_CONC:-32}"
ST_STREAMS="${ST_STREAMS:-4000}"
ST_CONC="${ST_CONC:-32}"
SP_STREAMS="${SP_STREAMS:-1000}"
SP_CONC="${SP_CONC:-64}"
MEM_STREAMS="${MEM_STREAMS:-1000}"
MEM_DELAY_MS="${MEM_DELAY_MS:-100}"
STALL_STREAMS="${STALL_STREAMS:-200}"
STALL_EVENTS="${STALL_EVENTS:-20000}"
PHASE_SECONDS="${PHASE_SECONDS:-60}"
DIALECTS="${DIALECTS:-openai anthropic gemini msgant msgoai rspoai}"
DIALECT_REPS="${DIALECT_REPS:-3}"

has_dialect() { [[ " $DIALECTS " == *" $1 "* ]]; }
NEW_DIALECTS=""
for d in anthropic gemini msgant msgoai rspoai; do
    if has_dialect "$d"; then NEW_DIALECTS="$NEW_DIALECTS $d"; fi
done

EVENTS=100
M_BURST="bench-n${EVENTS}-d0"
M_PACED="bench-n${EVENTS}-d1"
M_SLOW="bench-n${EVENTS}-d${MEM_DELAY_MS}"

# model name prefix per dialect (the mock reads N and D from the name)
declare -A MPFX=([openai]=bench [anthropic]=antb [gemini]=gemb
                [msgant]=antb [msgoai]=bench [rspoai]=bench)

# CPU 1 for nginx, CPU 0 for the load generator and the mock
NGX_CPU=1
GEN_CPU=0

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

for t in "$NGINX_BIN" wrk cc python3 taskset curl; do
    command -v "$t" >/dev/null 2>&1 || die "$t is needed"
done
[ -f "$MODULE" ] || die "$MODULE is missing: run ./build.sh first"
[ "$(nproc)" -ge 2 ] || { NGX_CPU=0; GEN_CPU=0; }

# 1,000 client + 1,000 upstream connections per nginx; the clients need as many
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -ge 4096 ] || die "ulimit -n is $(ulimit -n): 4096+ needed"

CLK_TCK="$(getconf CLK_TCK)"

mkdir -p "$OUT"
rm -rf "$OUT/llm" "$OUT/proxy"
: > "$OUT/raw.tsv"
: > "$OUT/mem.jsonl"

MOCK_PID=""
FALLBACK=0
RSP_END=""
declare -A MASTER PORT

# only the processes started here, by pid
cleanup() {
    local p
    for p in "${MASTER[@]}" $MOCK_PID; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${MASTER[@]}" $MOCK_PID; do
        wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the mock provider ------------------------------------------------------

say "building the mock provider"
cc -O2 -Wall -o "$OUT/mock_upstream" "$BENCH/mock_upstream.c"

taskset -c "$GEN_CPU" "$OUT/mock_upstream" 0 > "$OUT/mock.out" 2>&1 &
MOCK_PID=$!

MOCK_PORT=""
for _ in $(seq 50); do
    MOCK_PORT="$(awk '/^PORT/ {print $2}' "$OUT/mock.out" 2>/dev/null)"
    [ -n "$MOCK_PORT" ] && break
    sleep 0.1
done
[ -n "$MOCK_PORT" ] || die "the mock did not start: $(cat "$OUT/mock.out")"
say "mock provider on 127.0.0.1:$MOCK_PORT (pid $MOCK_PID)"

# --- two nginx instances ----------------------------------------------------

free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

read -r PORT[llm] PORT[proxy] <<< "$(free_ports 2)"

write_conf() {
    local name="$1" prefix="$OUT/$1" port="${PORT[$1]}"

    mkdir -p "$prefix/logs" "$prefix/tmp"

    {
        if [ "$name" = llm ]; then
            echo "load_module $MODULE;"
        fi
        cat <<EOF
worker_processes 1;
master_process on;
daemon off;
worker_rlimit_nofile 16384;
pid $prefix/logs/nginx.pid;
error_log $prefix/logs/error.log warn;

events {
    worker_connections 8192;
}

http {
    access_log off;
    log_not_found off;

    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;

    upstream $UP {
        server 127.0.0.1:$MOCK_PORT;
        keepalive 64;
    }

EOF
        if [ "$name" = llm ]; then
            cat <<EOF
    $LLM_HTTP_EXTRA
    llm_provider mock dialect=openai $TARGET;
    llm_model $M_BURST provider=mock;
    llm_model $M_PACED provider=mock;
    llm_model $M_SLOW provider=mock;
    llm_model bench-n${STALL_EVENTS}-d0 provider=mock;
EOF
            if has_dialect anthropic || has_dialect msgant; then
                cat <<EOF
    llm_provider ant dialect=anthropic $TARGET;
    llm_model antb-n${EVENTS}-d0 provider=ant;
    llm_model antb-n${EVENTS}-d1 provider=ant;
    llm_model antb-n${EVENTS}-d${MEM_DELAY_MS} provider=ant;
EOF
            fi
            if has_dialect gemini; then
                cat <<EOF
    llm_provider gem dialect=gemini $TARGET;
    llm_model gemb-n${EVENTS}-d0 provider=gem;
    llm_model gemb-n${EVENTS}-d1 provider=gem;
    llm_model gemb-n${EVENTS}-d${MEM_DELAY_MS} provider=gem;
EOF
            fi
            cat <<EOF

    server {
        listen 127.0.0.1:$port backlog=4096;

        location = /v1/chat/completions {
            llm_chat;
            $LLM_CONF_EXTRA
        }

        location = /v1/messages {
            llm_messages;
            $LLM_CONF_EXTRA
        }

        location = /v1/responses {
            llm_responses;
            $LLM_CONF_EXTRA
        }
    }
}
EOF
        else
            cat <<EOF
    server {
        listen 127.0.0.1:$port backlog=4096;

        location = /v1/chat/completions {
            proxy_pass http://$UP;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            $PROXY_CONF_EXTRA
        }

        # the native requests of the anthropic / gemini scenarios
        location = /v1/messages {
            proxy_pass http://$UP;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            $PROXY_CONF_EXTRA
        }

        location /v1/models/ {
            proxy_pass http://$UP;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            $PROXY_CONF_EXTRA
        }
    }
}
EOF
        fi
    } > "$prefix/nginx.conf"
}

worker_of() {
    pgrep -P "${MASTER[$1]}" | head -n 1
}

start_nginx() {
    local name="$1" prefix="$OUT/$1" w=""

    taskset -c "$NGX_CPU" "$NGINX_BIN" -p "$prefix/" -e "$prefix/logs/error.log" \
        -c "$prefix/nginx.conf" >> "$prefix/logs/stdout.log" 2>&1 &
    MASTER[$name]=$!

    for _ in $(seq 100); do
        w="$(worker_of "$name" || true)"
        if [ -n "$w" ] && curl -s -o /dev/null "http://127.0.0.1:${PORT[$name]}/"
        then
            return 0
        fi
        kill -0 "${MASTER[$name]}" 2>/dev/null \
            || die "nginx ($name) did not start: $(tail -n 5 "$prefix/logs/error.log")"
        sleep 0.1
    done

    die "nginx ($name) did not start in 10 s"
}

stop_nginx() {
    local name="$1" m="${MASTER[$1]}"

    kill -QUIT "$m" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$m" 2>/dev/null || break
        sleep 0.1
    done
    kill "$m" 2>/dev/null || true
    wait "$m" 2>/dev/null || true
    unset "MASTER[$name]"
}

nginx_test() {
    "$NGINX_BIN" -t -q -p "$OUT/$1/" -e "$OUT/$1/logs/error.log" \
        -c "$OUT/$1/nginx.conf"
}

# the provider goes through the keepalive upstream{} block: upstream=NAME,
# or, if this build rejects that, url= with a host name that is both the
# block's name and resolvable ("localhost"): nginx then uses the block
UP=mock
TARGET="upstream=mock"
write_conf llm
if ! err="$(nginx_test llm 2>&1)"; then
    say "upstream=mock is rejected ($err)"
    say "falling back to: upstream localhost {...}; llm_provider ... url=http://localhost/v1"
    UP=localhost
    TARGET="url=http://localhost/v1"
    write_conf llm
    nginx_test llm || die "nginx -t failed for llm"
    FALLBACK=1
fi
write_conf proxy
nginx_test proxy || die "nginx -t failed for proxy"

for n in llm proxy; do
    start_nginx "$n"
    say "$n on 127.0.0.1:${PORT[$n]} (worker pid $(worker_of "$n"))"
done

# --- smoke test: both answer, stream and non-stream -------------------------

body() {   # body MODEL STREAM(0|1): a ~300-byte chat request
    local s=""
    [ "$2" = 1 ] && s=',"stream":true,"stream_options":{"include_usage":true}'
    printf '{"model":"%s","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly and precisely, in plain English."},{"role":"user","content":"Explain in two sentences what a load balancer does and why a gateway in front of several LLM providers is useful."}],"temperature":0.7,"max_tokens":256%s}' "$1" "$s"
}

# native_req DIALECT MODEL STREAM: sets REQ_PATH, REQ_BODY and the checks
# (REQ_END, REQ_END_WIN, REQ_NS_MARK) of the same request in the
# provider's own format, the one the proxy side relays
SYS_TEXT="You are a helpful assistant. Answer briefly and precisely, in plain English."
USER_TEXT="Explain in two sentences what a load balancer does and why a gateway in front of several LLM providers is useful."
native_req() {
    local d="$1" m="$2" st="$3" s=""
    case "$d" in
    anthropic)
        [ "$st" = 1 ] && s=',"stream":true'
        REQ_PATH=/v1/messages
        REQ_BODY="$(printf '{"model":"%s","max_tokens":256,"system":"%s","messages":[{"role":"user","content":"%s"}],"temperature":0.7%s}' "$m" "$SYS_TEXT" "$USER_TEXT" "$s")"
        REQ_END=$'data: {"type":"message_stop"}\n\n'
        REQ_END_WIN=0
        REQ_NS_MARK='"content":[{"type":"text"'
        ;;
    responses)
        [ "$st" = 1 ] && s=',"stream":true'
        REQ_PATH=/v1/responses
        REQ_BODY="$(printf '{"model":"%s","instructions":"%s","input":"%s","temperature":0.7,"max_output_tokens":256%s}' "$m" "$SYS_TEXT" "$USER_TEXT" "$s")"
        REQ_END='"type":"response.completed"'
        REQ_END_WIN=8192
        REQ_NS_MARK='"object":"response"'
        ;;
    gemini)
        if [ "$st" = 1 ]; then
            REQ_PATH="/v1/models/$m:streamGenerateContent?alt=sse"
        else
            REQ_PATH="/v1/models/$m:generateContent"
        fi
        REQ_BODY="$(printf '{"contents":[{"role":"user","parts":[{"text":"%s"}]}],"systemInstruction":{"parts":[{"text":"%s"}]},"generationConfig":{"temperature":0.7,"maxOutputTokens":256}}' "$USER_TEXT" "$SYS_TEXT")"
        REQ_END='"finishReason":"STOP"'
        REQ_END_WIN=600
        REQ_NS_MARK='"candidates"'
        ;;
    esac
}

# set_req NAME DIALECT MODEL STREAM: what a client of NAME sends
set_req() {
    case "$2" in
    msgant)
        # the same Messages request on both sides
        native_req anthropic "$3" "$4"
        return
        ;;
    msgoai)
        if [ "$1" = llm ]; then
            native_req anthropic "$3" "$4"
            return
        fi
        ;;
    rspoai)
        if [ "$1" = llm ]; then
            native_req responses "$3" "$4"
            return
        fi
        ;;
    esac

    if [ "$1" = llm ] || [ "$2" != anthropic -a "$2" != gemini ]; then
        REQ_PATH=/v1/chat/completions
        REQ_BODY="$(body "$3" "$4")"
        REQ_END=""; REQ_END_WIN=0; REQ_NS_MARK=""
    else
        native_req "$2" "$3" "$4"
    fi
}

for d in $NEW_DIALECTS; do
    mb="${MPFX[$d]}-n${EVENTS}-d0"
    for n in llm proxy; do
        set_req "$n" "$d" "$mb" 0
        r="$(curl -s --max-time 10 "http://127.0.0.1:${PORT[$n]}$REQ_PATH" \
             -H 'Content-Type: application/json' -d "$REQ_BODY")"
        if [ -z "$REQ_NS_MARK" ]; then
            case "$r" in *'"choices"'*'"usage"'*) ;;
                *) die "$n/$d: bad non-stream answer: $r" ;; esac
        else
            case "$r" in *"$REQ_NS_MARK"*) ;;
                *) die "$n/$d: bad non-stream answer: $r" ;; esac
        fi
        set_req "$n" "$d" "$mb" 1
        r="$(curl -s --max-time 10 "http://127.0.0.1:${PORT[$n]}$REQ_PATH" \
             -H 'Content-Type: application/json' -d "$REQ_BODY")"
        ev="$(grep -c '^data: ' <<< "$r" || true)"
        if [ -z "$REQ_END" ]; then
            [ "$ev" -ge $((EVENTS - 10)) ] \
                && [ "$(tail -n 1 <<< "$r")" = "data: [DONE]" ] \
                || die "$n/$d: bad stream: $ev events, ends with $(tail -n 1 <<< "$r")"
        elif [ "$n" = llm ] && [ "$d" != msgant ]; then
            [ "$ev" -ge $((EVENTS - 10)) ] && grep -qF "$REQ_END" <<< "$r" \
                || die "$n/$d: bad stream: $ev events, ends with $(tail -n 1 <<< "$r")"
        else
            [ "$ev" = "$EVENTS" ] || die "$n/$d: bad stream: $ev events"
        fi
        # the Responses stream's last bytes: its sequence number is fixed
        if [ "$n/$d" = llm/rspoai ]; then
            RSP_END="$(tail -n 1 <<< "$r" | grep -o '"sequence_number":[0-9]*}$')"
            [ -n "$RSP_END" ] || die "$n/$d: no sequence_number at the end"
        fi
        say "$d: $n answers; stream of $ev events"
    done
done

has_dialect openai || SCENARIOS=""

for n in llm proxy; do
    has_dialect openai || break
    url="http://127.0.0.1:${PORT[$n]}/v1/chat/completions"
    r="$(curl -s --max-time 10 "$url" -H 'Content-Type: application/json' \
         -d "$(body "$M_BURST" 0)")"
    case "$r" in
        *'"choices"'*'"usage"'*) ;;
        *) die "$n: bad non-stream answer: $r" ;;
    esac
    r="$(curl -s --max-time 10 "$url" -H 'Content-Type: application/json' \
         -d "$(body "$M_BURST" 1)")"
    ev="$(grep -c '^data: ' <<< "$r" || true)"
    [ "$ev" = "$EVENTS" ] && [ "$(tail -n 1 <<< "$r")" = "data: [DONE]" ] \
        || die "$n: bad stream: $ev events, ends with $(tail -n 1 <<< "$r")"
done
say "smoke test passed: both answer JSON and $EVENTS-event streams"

# --- CPU: a fixed number of requests, worker CPU from /proc -----------------

cpu_ticks() {   # utime + stime of a pid, in clock ticks
    local s
    s="$(cat "/proc/$1/stat")"
    s="${s##*) }"
    awk '{print $12 + $13}' <<< "$s"
}

syscw() {       # write()/writev() calls of a pid so far
    awk '$1 == "syscw:" {print $2}' "/proc/$1/io" 2>/dev/null || echo 0
}

cpu_ns() {      # time on CPU from schedstat (ns), 0 if unavailable
    awk '{print $1}' "/proc/$1/schedstat" 2>/dev/null || echo 0
}

# run_wrk NAME SCENARIO REP MODEL STREAM LIMIT CONC [DIALECT]
run_wrk() {
    local name="$1" sc="$2" rep="$3" model="$4" stream="$5" limit="$6"
    local conc="$7" dialect="${8:-openai}" w c0 c1 n0 n1 m0 m1 t0 t1 s0 s1 res

    set_req "$name" "$dialect" "$model" "$stream"

    w="$(worker_of "$name")"
    c0="$(cpu_ticks "$w")"; n0="$(cpu_ns "$w")"; m0="$(cpu_ticks "$MOCK_PID")"
    s0="$(syscw "$w")"
    t0="$(date +%s%N)"

    res="$(BENCH_BODY="$REQ_BODY" BENCH_LIMIT="$limit" \
           BENCH_STREAM="$stream" BENCH_END="$REQ_END" \
           BENCH_END_WIN="$REQ_END_WIN" BENCH_NS_MARK="$REQ_NS_MARK" \
           timeout $((PHASE_SECONDS + 30)) \
           taskset -c "$GEN_CPU" wrk -t1 -c"$conc" -d"${PHASE_SECONDS}s" \
               --timeout 30s -s "$BENCH/wrk_count.lua" \
               "http://127.0.0.1:${PORT[$name]}$REQ_PATH" \
           | grep '^RESULT' || true)"

    t1="$(date +%s%N)"
    c1="$(cpu_ticks "$w")"; n1="$(cpu_ns "$w")"; m1="$(cpu_ticks "$MOCK_PID")"
    s1="$(syscw "$w")"

    [ -n "$res" ] || die "$name/$sc: wrk gave no result"

    # name scenario rep completed errors bad_body bytes how
    #   worker_ticks worker_ns wall_ns mock_ticks worker_writes
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$sc" "$rep" \
        "$(sed 's/RESULT //; s/[a-z_]*=//g; s/ /\t/g' <<< "$res")" \
        "$((c1 - c0))" "$((n1 - n0))" "$((t1 - t0))" "$((m1 - m0))" \
        "$((s1 - s0))" \
        >> "$OUT/raw.tsv"

    awk -F'\t' -v tck="$CLK_TCK" 'END {
        printf "    %-5s %-6s rep %s: %6d done, %d errors, %d bad, "   \
               "worker %7.1f ms CPU (%.1f ms/1k), %.0f/s\n",          \
               $1, $2, $3, $4, $5, $6, $9 * 1000 / tck,                \
               $9 * 1000 / tck / $4 * 1000, $4 / ($11 / 1e9) }' \
        "$OUT/raw.tsv" >&2

    if ! awk -F'\t' 'END { exit !($5 == 0 && $6 == 0) }' "$OUT/raw.tsv"
    then
        die "$name/$sc: failed requests (see above)"
    fi
}

say "warm-up"
for n in llm proxy; do
    if has_dialect openai; then
        run_wrk "$n" warmup 0 "$M_BURST" 0 2000 "$NS_CONC"
        run_wrk "$n" warmup 0 "$M_BURST" 1 200 "$ST_CONC"
        run_wrk "$n" warmup 0 "$M_PACED" 1 100 "$SP_CONC"
    fi
    for d in $NEW_DIALECTS; do
        run_wrk "$n" warmup 0 "${MPFX[$d]}-n${EVENTS}-d0" 0 2000 "$NS_CONC" "$d"
        run_wrk "$n" warmup 0 "${MPFX[$d]}-n${EVENTS}-d1" 1 100 "$SP_CONC" "$d"
    done
done

case " $PHASES " in *" cpu "*) CPU_REPS="$REPS" ;; *) CPU_REPS=0 ;; esac
case " $PHASES " in *" mem "*) : ;; *) MEM_REPS=0 ;; esac
case " $PHASES " in *" cpu "*) D_CPU_REPS="$DIALECT_REPS" ;; *) D_CPU_REPS=0 ;; esac
D_MEM_REPS="$MEM_REPS"
has_dialect openai || { CPU_REPS=0; MEM_REPS=0; }

for rep in $(seq "$CPU_REPS"); do
    # alternate which server goes first
    if [ $((rep % 2)) = 1 ]; then order="llm proxy"; else order="proxy llm"; fi

    if [[ " $SCENARIOS " == *" ns "* ]]; then
        say "rep $rep/$CPU_REPS: non-stream, $NS_REQUESTS requests, concurrency $NS_CONC"
        for n in $order; do
            run_wrk "$n" ns "$rep" "$M_BURST" 0 "$NS_REQUESTS" "$NS_CONC"
        done
    fi

    if [[ " $SCENARIOS " == *" st "* ]]; then
        say "rep $rep/$CPU_REPS: streams of $EVENTS events, back to back (d0), $ST_STREAMS streams, concurrency $ST_CONC"
        for n in $order; do
            run_wrk "$n" st "$rep" "$M_BURST" 1 "$ST_STREAMS" "$ST_CONC"
        done
    fi

    if [[ " $SCENARIOS " == *" sp "* ]]; then
        say "rep $rep/$CPU_REPS: streams of $EVENTS events, 1 ms apart (d1), $SP_STREAMS streams, concurrency $SP_CONC"
        for n in $order; do
            run_wrk "$n" sp "$rep" "$M_PACED" 1 "$SP_STREAMS" "$SP_CONC"
        done
    fi
done

# --- anthropic / gemini: OpenAI in, native out vs proxy_pass of native ------

for rep in $(seq "$D_CPU_REPS"); do
    if [ $((rep % 2)) = 1 ]; then order="llm proxy"; else order="proxy llm"; fi
    for d in $NEW_DIALECTS; do
        say "rep $rep/$D_CPU_REPS: $d, non-stream, $NS_REQUESTS requests, concurrency $NS_CONC"
        for n in $order; do
            run_wrk "$n" "ns.$d" "$rep" "${MPFX[$d]}-n${EVENTS}-d0" 0 \
                "$NS_REQUESTS" "$NS_CONC" "$d"
        done
        say "rep $rep/$D_CPU_REPS: $d, streams of $EVENTS events, 1 ms apart, $SP_STREAMS streams, concurrency $SP_CONC"
        for n in $order; do
            run_wrk "$n" "sp.$d" "$rep" "${MPFX[$d]}-n${EVENTS}-d1" 1 \
                "$SP_STREAMS" "$SP_CONC" "$d"
        done
    done
done

# --- memory per open stream: fresh workers, MEM_STREAMS slow streams --------

# mem_run NAME REP DIALECT (anthropic, gemini, msgant, msgoai, rspoai)
mem_run() {
    local n="$1" rep="$2" d="$3" pfx="${MPFX[$3]}" res
    local extra=()

    # a fresh worker: no heap left over from the CPU phases
    stop_nginx "$n"
    start_nginx "$n"

    # a little traffic first, so one-time allocations are in the baseline
    set_req "$n" "$d" "$pfx-n${EVENTS}-d0" 1
    BENCH_BODY="$REQ_BODY" BENCH_LIMIT=200 BENCH_STREAM=1 \
    BENCH_END="$REQ_END" BENCH_END_WIN="$REQ_END_WIN" \
        timeout 60 taskset -c "$GEN_CPU" wrk -t1 -c16 -d30s \
            -s "$BENCH/wrk_count.lua" \
            "http://127.0.0.1:${PORT[$n]}$REQ_PATH" \
            > /dev/null

    sleep 0.5

    # what the client sends, and how the answer it gets ends
    set_req "$n" "$d" "$pfx-n${EVENTS}-d${MEM_DELAY_MS}" 1
    case "$n/$d" in
        proxy/anthropic | */msgant | llm/msgoai)
            extra=(--end 'data: {"type":"message_stop"}\n\n') ;;
        proxy/gemini)
            extra=(--end '\r\n\r\n') ;;
        llm/rspoai)
            extra=(--end "$RSP_END\n\n") ;;
    esac
    extra+=(--path "$REQ_PATH" --body "$REQ_BODY")

    res="$(timeout 180 taskset -c "$GEN_CPU" python3 "$BENCH/slow_streams.py" \
            --port "${PORT[$n]}" --pid "$(worker_of "$n")" \
            --count "$MEM_STREAMS" --model "$pfx-n${EVENTS}-d${MEM_DELAY_MS}" \
            --events "$EVENTS" --delay-ms "$MEM_DELAY_MS" --timeout 120 \
            "${extra[@]}")" \
        || die "$n/$d: slow streams failed: $res"

    printf '{"name":"%s","dialect":"%s","rep":%s,"result":%s}\n' "$n" "$d" \
        "$rep" "$res" >> "$OUT/mem.jsonl"

    python3 - "$res" "$n/$d" <<'PYEOF' >&2
import json, sys
r = json.loads(sys.argv[1]); b = r["baseline"]["rss_kb"]; c = r["count"]
s = ", ".join("%d%%: %.1f" % (x["at"] * 100, (x["rss_kb"] - b) / c)
              for x in r["samples"])
print("    %-15s %d/%d streams done, RSS KB/stream %s (open %.2f s)"
      % (sys.argv[2], r["completed"], c, s, r["open_seconds"]))
PYEOF
}


for rep in $(seq "$MEM_REPS"); do
    if [ $((rep % 2)) = 1 ]; then order="llm proxy"; else order="proxy llm"; fi

    say "rep $rep/$MEM_REPS: memory, $MEM_STREAMS concurrent streams of $EVENTS events ${MEM_DELAY_MS} ms apart"

    for n in $order; do
        # a fresh worker: no heap left over from the CPU phases
        stop_nginx "$n"
        start_nginx "$n"

        # a little traffic first, so one-time allocations are in the baseline
        BENCH_BODY="$(body "$M_BURST" 1)" BENCH_LIMIT=200 BENCH_STREAM=1 \
            timeout 60 taskset -c "$GEN_CPU" wrk -t1 -c16 -d30s \
                -s "$BENCH/wrk_count.lua" \
                "http://127.0.0.1:${PORT[$n]}/v1/chat/completions" \
                > /dev/null

        sleep 0.5

        res="$(timeout 180 taskset -c "$GEN_CPU" python3 "$BENCH/slow_streams.py" \
                --port "${PORT[$n]}" --pid "$(worker_of "$n")" \
                --count "$MEM_STREAMS" --model "$M_SLOW" --events "$EVENTS" \
                --delay-ms "$MEM_DELAY_MS" --timeout 120)" \
            || die "$n: slow streams failed: $res"

        printf '{"name":"%s","rep":%s,"result":%s}\n' "$n" "$rep" "$res" \
            >> "$OUT/mem.jsonl"

        python3 - "$res" "$n" <<'EOF' >&2
import json, sys
r = json.loads(sys.argv[1]); b = r["baseline"]["rss_kb"]; c = r["count"]
s = ", ".join("%d%%: %.1f" % (x["at"] * 100, (x["rss_kb"] - b) / c)
              for x in r["samples"])
print("    %-5s %d/%d streams done, RSS KB/stream %s (open %.2f s)"
      % (sys.argv[2], r["completed"], c, s, r["open_seconds"]))
EOF
    done
done

for rep in $(seq "$D_MEM_REPS"); do
    if [ $((rep % 2)) = 1 ]; then order="llm proxy"; else order="proxy llm"; fi
    for d in $NEW_DIALECTS; do
        say "rep $rep/$D_MEM_REPS: $d, memory, $MEM_STREAMS concurrent streams of $EVENTS events ${MEM_DELAY_MS} ms apart"
        for n in $order; do
            mem_run "$n" "$rep" "$d"
        done
    done
done

# --- the table --------------------------------------------------------------

python3 - "$OUT" "$CLK_TCK" "$EVENTS" "$MEM_STREAMS" "$MEM_DELAY_MS" \
    "$NS_REQUESTS" "$NS_CONC" "$ST_STREAMS" "$ST_CONC" "$SP_STREAMS" \
    "$SP_CONC" "$CPU_REPS" "$MEM_REPS" "$FALLBACK" "$LLM_CONF_EXTRA" \
    "$PROXY_CONF_EXTRA" "$D_CPU_REPS" "$D_MEM_REPS" "$NEW_DIALECTS" \
    "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    <<'EOF' | tee "$OUT/results.md"
import json, os, platform, statistics, sys, time

(out, tck, events, mem_n, mem_d, ns_n, ns_c, st_n, st_c, sp_n, sp_c,
 reps, mem_reps, fallback, llm_extra, proxy_extra, d_reps, d_mem_reps,
 new_dialects, commit) = sys.argv[1:]
tck = int(tck)
nan = float("nan")

rows = {}
for line in open(os.path.join(out, "raw.tsv")):
    f = line.rstrip("\n").split("\t")
    name, sc, rep = f[0], f[1], f[2]
    if sc == "warmup":
        continue
    done, ticks, ns, wall, mock = (int(f[3]), int(f[8]), int(f[9]),
                                   int(f[10]), int(f[11]))
    rows.setdefault((name, sc), []).append({
        "cpu": ticks * 1000 / tck / done * 1000,     # ms per 1,000
        "sched": ns / 1e6 / done * 1000,
        "rate": done / (wall / 1e9),
        "mock_pct": mock * 1000 / tck / (wall / 1e6) * 100,
        "worker_pct": ticks * 1000 / tck / (wall / 1e6) * 100,
        "bytes": int(f[6]) / done,
        "writes": int(f[12]) / done,
        "rep": rep,
    })

def med(name, sc, key):
    v = [r[key] for r in rows.get((name, sc), [])]
    return statistics.median(v) if v else nan

def paired(sc):
    """llm/proxy of the runs made one right after the other"""
    p = {r["rep"]: r["cpu"] for r in rows.get(("proxy", sc), [])}
    v = sorted(r["cpu"] / p[r["rep"]] for r in rows.get(("llm", sc), [])
               if p.get(r["rep"]))
    if not v:
        return "-"
    return "%.2f× (%.2f–%.2f)" % (statistics.median(v), v[0], v[-1])

def spread(name, sc):
    v = [r["cpu"] for r in rows.get((name, sc), [])]
    return "%.0f–%.0f" % (min(v), max(v)) if v else "-"

mem = {}
for line in open(os.path.join(out, "mem.jsonl")):
    j = json.loads(line)
    if j.get("dialect", "openai") == "openai":
        mem.setdefault(j["name"], []).append(j["result"])
    else:
        mem.setdefault((j["name"], j["dialect"]), []).append(j["result"])

def per_stream(r, where, key):
    b = r["baseline"][key]
    s = r["samples"][where][key] if isinstance(where, int) else r[where][key]
    return None if b is None or s is None else (s - b) / r["count"]

def mem_med(name, where, key="rss_kb"):
    v = [per_stream(r, where, key) for r in mem.get(name, [])]
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else nan

def growth(name):
    v = [per_stream(r, 2, "rss_kb") - per_stream(r, 0, "rss_kb")
         for r in mem.get(name, [])]
    return statistics.median(v) if v else nan

def verdict(r, goal=1.2):
    return "ok" if r <= goal else "**no**"

L = []
L.append("## llm_chat vs proxy_pass, 1 worker each")
L.append("")
L.append("%s, %s, %d vCPU; the nginx worker pinned to one CPU, load generator "
         "and mock on the other; medians of %s CPU runs and %s memory runs."
         % (time.strftime("%Y-%m-%d"), platform.machine(), os.cpu_count(),
            reps, mem_reps))
L.append("")
L.append("| measure | llm_chat | proxy_pass | ratio | ≤ 1.2× |")
L.append("|---|---:|---:|---:|:---:|")

for sc, label in (
        ("ns", "CPU ms per 1,000 non-stream requests"),
        ("st", "CPU ms per 1,000 streams of %s events, back to back" % events),
        ("sp", "CPU ms per 1,000 streams of %s events, 1 ms apart" % events)):
    if ("llm", sc) in rows:
        a, b = med("llm", sc, "cpu"), med("proxy", sc, "cpu")
        L.append("| %s | %.0f | %.0f | %.2f× | %s |"
                 % (label, a, b, a / b,
                    "(see README)" if sc == "st" else verdict(a / b)))

if "llm" in mem and "proxy" in mem:    # the openai dialect was measured
    for idx, pct in enumerate(("25%", "50%", "90%")):
        a, b = mem_med("llm", idx), mem_med("proxy", idx)
        L.append("| KB RSS per open stream, %s through the streams (%s open) "
                 "| %.1f | %.1f | %.2f× | %s |"
                 % (pct, mem_n, a, b, a / b, verdict(a / b)))
    a, b = (mem_med("llm", 2, "private_dirty_kb"),
            mem_med("proxy", 2, "private_dirty_kb"))
    L.append("| KB Private_Dirty per open stream, 90%% through | %.1f | %.1f "
             "| %.2f× | |" % (a, b, a / b))
    L.append("| KB RSS per stream, growth from 25%% to 90%% | %+.1f | %+.1f | | %s |"
             % (growth("llm"), growth("proxy"),
                "flat" if abs(growth("llm")) < 0.5 else "**grows**"))

L.append("")
L.append("Information:")
L.append("")
L.append("| | llm_chat | proxy_pass |")
L.append("|---|---:|---:|")
for sc, what in (("ns", "non-stream"), ("st", "back to back"),
                 ("sp", "1 ms apart")):
    if ("llm", sc) not in rows:
        continue
    unit = "requests/s" if sc == "ns" else "streams/s"
    L.append("| %s, %s | %.0f | %.0f |"
             % (what, unit, med("llm", sc, "rate"), med("proxy", sc, "rate")))
    L.append("| %s, CPU ms per 1,000: min–max of the runs | %s | %s |"
             % (what, spread("llm", sc), spread("proxy", sc)))
    L.append("| %s, CPU ratio of paired runs: median (min–max) | %s | |"
             % (what, paired(sc)))
    L.append("| %s, CPU ms per 1,000 from schedstat (cross-check) | %.0f | %.0f |"
             % (what, med("llm", sc, "sched"), med("proxy", sc, "sched")))
    L.append("| %s, worker / mock CPU busy | %.0f%% / %.0f%% | %.0f%% / %.0f%% |"
             % (what, med("llm", sc, "worker_pct"), med("llm", sc, "mock_pct"),
                med("proxy", sc, "worker_pct"), med("proxy", sc, "mock_pct")))
    L.append("| %s, worker write()s per %s (upstream + client) | %.1f | %.1f |"
             % (what, "request" if sc == "ns" else "stream",
                med("llm", sc, "writes"), med("proxy", sc, "writes")))
    L.append("| %s, body bytes per response | %.0f | %.0f |"
             % (what, med("llm", sc, "bytes"), med("proxy", sc, "bytes")))
if "llm" in mem and "proxy" in mem:    # the openai dialect was measured
    bl = [statistics.median([r["baseline"]["rss_kb"] for r in mem[n]])
          for n in ("llm", "proxy")]
    L.append("| memory: worker RSS before the streams, KB | %d | %d |" % tuple(bl))
    L.append("| memory: KB RSS per stream still held after all %s closed "
             "| %.1f | %.1f |" % (mem_n, mem_med("llm", "closed"),
                                  mem_med("proxy", "closed")))

L.append("")
L.append("Load: non-stream %s requests at concurrency %s; %s streams × %s events "
         "back to back (d0), c=%s; %s streams × %s events 1 ms apart (d1), c=%s; "
         "memory: %s concurrent streams of %s events %s ms apart, "
         "(RSS − RSS before) / %s."
         % (ns_n, ns_c, st_n, events, st_c, sp_n, events, sp_c, mem_n, events,
            mem_d, mem_n))
if fallback == "1":
    L.append("")
    L.append("Note: this build rejected `llm_provider ... upstream=mock`; the "
             "gateway used `url=http://localhost/v1` with `upstream localhost "
             "{ ...; keepalive 64; }` (the same keepalive block, by name).")
if llm_extra or proxy_extra:
    L.append("")
    L.append("Extra directives: llm_chat `%s`, proxy_pass `%s`."
             % (llm_extra, proxy_extra))
if ("llm", "ns") not in rows and ("llm", "st") not in rows \
        and ("llm", "sp") not in rows and "llm" not in mem:
    L = []      # openai was not measured

# anthropic / gemini: OpenAI in, native out, against proxy_pass of the
# native request
def dmem_med(d, name, where, key="rss_kb"):
    v = [per_stream(r, where, key) for r in mem.get((name, d), [])]
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else nan

def dgrowth(d, name):
    v = [per_stream(r, 2, "rss_kb") - per_stream(r, 0, "rss_kb")
         for r in mem.get((name, d), [])]
    return statistics.median(v) if v else nan

def ok(r, goal):
    return ("ok" if r <= goal else "**no**") + " (≤ %.1f×)" % goal

evn = int(events)
for d in new_dialects.split():
    title = {"anthropic": "Anthropic Messages", "gemini": "Gemini",
             "msgant": "Anthropic Messages",
             "msgoai": "OpenAI", "rspoai": "OpenAI"}.get(d, d)
    if L:
        L.append("")
    if d == "msgant":
        L.append("## Anthropic Messages in (`llm_messages`), relayed to "
                 "`dialect=anthropic`, vs proxy_pass of the same request")
    elif d == "msgoai":
        L.append("## Anthropic Messages in (`llm_messages`), OpenAI out "
                 "(`dialect=openai`), vs proxy_pass of the OpenAI request")
    elif d == "rspoai":
        L.append("## OpenAI Responses in (`llm_responses`), OpenAI Chat out "
                 "(`dialect=openai`), vs proxy_pass of the OpenAI request")
    else:
        L.append("## OpenAI in, %s out (`dialect=%s`) vs proxy_pass of the "
                 "native request" % (title, d))
    L.append("")
    L.append("%s, %s, %d vCPU, module at commit %s; medians of %s CPU runs "
             "and %s memory runs."
             % (time.strftime("%Y-%m-%d"), platform.machine(), os.cpu_count(),
                commit, d_reps, d_mem_reps))
    L.append("")
    op = "llm_messages" if d.startswith("msg") else "llm_chat"
    L.append("| measure | %s | proxy_pass | ratio | goal |" % op)
    L.append("|---|---:|---:|---:|:---:|")
    ns, sp = "ns." + d, "sp." + d
    if ("llm", ns) in rows:
        a, b = med("llm", ns, "cpu"), med("proxy", ns, "cpu")
        L.append("| CPU ms per 1,000 non-stream requests | %.0f | %.0f | %.2f× "
                 "| %s |" % (a, b, a / b, ok(a / b, 1.3)))
    if ("llm", sp) in rows:
        a, b = med("llm", sp, "cpu"), med("proxy", sp, "cpu")
        L.append("| CPU ms per 1,000 streams of %s events, 1 ms apart | %.0f "
                 "| %.0f | %.2f× | %s |" % (events, a, b, a / b, ok(a / b, 1.5)))
    if ("llm", d) in mem:
        for idx, pct in enumerate(("25%", "50%", "90%")):
            a, b = dmem_med(d, "llm", idx), dmem_med(d, "proxy", idx)
            L.append("| KB RSS per open stream, %s through (%s open) "
                     "| %.1f | %.1f | %.2f× | %s |"
                     % (pct, mem_n, a, b, a / b, ok(a / b, 1.2)))
        a, b = (dmem_med(d, "llm", 2, "private_dirty_kb"),
                dmem_med(d, "proxy", 2, "private_dirty_kb"))
        L.append("| KB Private_Dirty per open stream, 90%% through | %.1f "
                 "| %.1f | %.2f× | |" % (a, b, a / b))
        g = dgrowth(d, "llm")
        L.append("| KB RSS per stream, growth from 25%% to 90%% | %+.1f | %+.1f "
                 "| | %s |" % (g, dgrowth(d, "proxy"),
                               "flat" if abs(g) < 0.5 else "**grows**"))
    if ("llm", sp) in rows:
        a, b = med("llm", sp, "cpu"), med("proxy", sp, "cpu")
        # ms per 1,000 streams -> µs per stream, / events
        L.append("| translation cost per event, µs: (llm − proxy CPU per "
                 "stream) / %d | %.1f | | | |" % (evn, (a - b) / evn))
        p = {r["rep"]: r["cpu"] for r in rows.get(("proxy", sp), [])}
        v = sorted((r["cpu"] - p[r["rep"]]) / evn
                   for r in rows.get(("llm", sp), []) if r["rep"] in p)
        if v:
            L.append("| the same, paired runs: median (min–max) | %.1f "
                     "(%.1f–%.1f) | | | |"
                     % (statistics.median(v), v[0], v[-1]))
    L.append("")
    L.append("Information:")
    L.append("")
    L.append("| | %s | proxy_pass |" % op)
    L.append("|---|---:|---:|")
    for sc, what in ((ns, "non-stream"), (sp, "1 ms apart")):
        if ("llm", sc) not in rows:
            continue
        unit = "requests/s" if sc == ns else "streams/s"
        L.append("| %s, %s | %.0f | %.0f |"
                 % (what, unit, med("llm", sc, "rate"),
                    med("proxy", sc, "rate")))
        L.append("| %s, CPU ms per 1,000: min–max of the runs | %s | %s |"
                 % (what, spread("llm", sc), spread("proxy", sc)))
        L.append("| %s, CPU ratio of paired runs: median (min–max) | %s | |"
                 % (what, paired(sc)))
        L.append("| %s, CPU ms per 1,000 from schedstat (cross-check) "
                 "| %.0f | %.0f |"
                 % (what, med("llm", sc, "sched"), med("proxy", sc, "sched")))
        L.append("| %s, worker / mock CPU busy | %.0f%% / %.0f%% "
                 "| %.0f%% / %.0f%% |"
                 % (what, med("llm", sc, "worker_pct"),
                    med("llm", sc, "mock_pct"), med("proxy", sc, "worker_pct"),
                    med("proxy", sc, "mock_pct")))
        L.append("| %s, worker write()s per %s (upstream + client) "
                 "| %.1f | %.1f |"
                 % (what, "request" if sc == ns else "stream",
                    med("llm", sc, "writes"), med("proxy", sc, "writes")))
        L.append("| %s, body bytes per response (OpenAI / native) "
                 "| %.0f | %.0f |"
                 % (what, med("llm", sc, "bytes"), med("proxy", sc, "bytes")))
    if ("llm", d) in mem:
        bl = [statistics.median([r["baseline"]["rss_kb"]
                                 for r in mem[(n, d)]])
              for n in ("llm", "proxy")]
        L.append("| memory: worker RSS before the streams, KB | %d | %d |"
                 % tuple(bl))
        L.append("| memory: KB RSS per stream still held after all %s closed "
                 "| %.1f | %.1f |" % (mem_n, dmem_med(d, "llm", "closed"),
                                      dmem_med(d, "proxy", "closed")))
    L.append("")
    L.append("Load: the client posts %s to llm_%s, and %s to proxy_pass; "
             "%s non-stream requests at c=%s; %s streams × %s events 1 ms "
             "apart, c=%s; memory: %s concurrent streams of %s events %s ms "
             "apart."
             % ("the same OpenAI request as above" if d in ("anthropic",
                                                            "gemini")
                else "the Responses request" if d == "rspoai"
                else "the Messages request",
                "messages" if d.startswith("msg")
                else "responses" if d == "rspoai" else "chat",
                "the OpenAI request" if d in ("msgoai", "rspoai")
                else "the native %s request" % title,
                ns_n, ns_c, sp_n, events, sp_c, mem_n, events, mem_d))

print("\n".join(L))
EOF

# --- stalled clients ------------------------------------------------------

# Clients that never read a fast answer (STALL_EVENTS events at full speed):
# what one worker holds per stalled stream, llm_chat against proxy_pass
# with proxy_buffering off.  Both servers stop reading the provider once
# their client side is full.

stall_run() {
    local n="$1" res

    stop_nginx "$n"
    start_nginx "$n"

    BENCH_BODY="$(body "$M_BURST" 1)" BENCH_LIMIT=200 BENCH_STREAM=1 \
        timeout 60 taskset -c "$GEN_CPU" wrk -t1 -c16 -d30s \
            -s "$BENCH/wrk_count.lua" \
            "http://127.0.0.1:${PORT[$n]}/v1/chat/completions" > /dev/null

    sleep 0.5

    res="$(timeout 120 taskset -c "$GEN_CPU" python3 "$BENCH/slow_streams.py" \
            --port "${PORT[$n]}" --pid "$(worker_of "$n")" --stall \
            --count "$STALL_STREAMS" --model "bench-n${STALL_EVENTS}-d0" \
            --stall-seconds 4 --at 0.5,1)" \
        || die "$n: stalled streams failed: $res"

    printf '{"name":"%s","stall":1,"result":%s}\n' "$n" "$res" \
        >> "$OUT/mem.jsonl"

    python3 - "$res" <<'PYEOF'
import json, sys
r = json.loads(sys.argv[1]); b = r["baseline"]["rss_kb"]
print("%.1f" % ((r["samples"][-1]["rss_kb"] - b) / r["count"]))
PYEOF
}

case " $PHASES " in
*" stall "*)
    if has_dialect openai; then
        say "stalled clients: $STALL_STREAMS streams of $STALL_EVENTS events, never read"
        st_llm="$(stall_run llm)"
        st_proxy="$(stall_run proxy)"
        {
            echo
            echo "| stalled clients ($STALL_STREAMS streams of $STALL_EVENTS events at full speed, never read) | llm_chat | proxy_pass |"
            echo "|---|---:|---:|"
            echo "| KB RSS per stalled stream, after 4 s | $st_llm | $st_proxy |"
        } | tee -a "$OUT/results.md"
    fi
    ;;
esac

say "results written to $OUT/results.md"
