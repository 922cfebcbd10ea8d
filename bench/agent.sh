#!/usr/bin/env bash
#
# Agent-sized requests against proxy_pass, side by side in one run, on the
# mock provider of bench/run.sh (bench/README.md, "Agent traffic"):
#
#   conversation  a 206 KB text conversation of 106 messages
#   agent         an agent's turn: 94 KB, 60 messages of tool calls, tool
#                 results and text, 8 tools with JSON schemas
#
# each through llm_chat to an openai, an anthropic and a gemini provider,
# against proxy_pass of the request that provider gets: the same bytes
# for openai, the gateway's own translation for the others (captured once
# from what the gateway sends).  Non-stream, short answers: the cost
# measured is the request's.  Then the scanner alone (llm_request_parse
# on the bodies, in a loop): bytes per second.
#
# The module's workers keep freed heap for the next request
# (llm_heap_retain, default 32m); proxy_pass's run with glibc's defaults.
# For the module's own cost on equal terms, give proxy_pass's workers the
# same through glibc's tunables:
#
#   PROXY_ENV=GLIBC_TUNABLES=glibc.malloc.trim_threshold=33554432:glibc.malloc.mmap_threshold=4194304
#
# Knobs: REPS (5), REQUESTS (5000), CONC (8), SCAN_LOOPS (2000),
# LLM_HTTP_EXTRA (directives for the module's http block, e.g.
# "llm_heap_retain off;"), PROXY_ENV (the proxy nginx's environment),
# MODULE, NGINX_BIN.  Output: build/bench/agent.md.

set -euo pipefail

OUT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/bench/agent"
REPS="${REPS:-5}"
REQUESTS="${REQUESTS:-5000}"
CONC="${CONC:-8}"
SCAN_LOOPS="${SCAN_LOOPS:-2000}"
LLM_HTTP_EXTRA="${LLM_HTTP_EXTRA:-}"
PROXY_ENV="${PROXY_ENV:-}"

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mkdir -p "$OUT/body" "$OUT/cap"

start_mock
read -r LLM PROXY CAP <<< "$(free_ports 3)"

# what the gateway sends a provider: its path and body, kept in $OUT/cap
python3 - "$CAP" "$OUT/cap" <<'PY' &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        name = "gemini" if "/models/" in self.path else "anthropic"
        open("%s/%s.path" % (out, name), "w").write(self.path)
        open("%s/%s.json" % (out, name), "wb").write(body)
        self.send_response(500)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
PIDS+=($!)

conf() {   # conf NAME PORT
    {
        conf_head "$1"
        cat <<EOF
    client_max_body_size 4m;
    client_body_buffer_size 1m;
    upstream mock { server 127.0.0.1:$MOCK_PORT; keepalive 64; }
EOF
        if [ "$1" = llm ]; then
            cat <<EOF
    llm_retry off;
    $LLM_HTTP_EXTRA
    llm_provider oai dialect=openai upstream=mock;
    llm_provider ant dialect=anthropic upstream=mock;
    llm_provider gem dialect=gemini upstream=mock;
    llm_provider cap-ant dialect=anthropic url=http://127.0.0.1:$CAP/v1;
    llm_provider cap-gem dialect=gemini url=http://127.0.0.1:$CAP/v1;
    llm_model bench-n10-d0 provider=oai;
    llm_model antb-n10-d0 provider=ant;
    llm_model gemb-n10-d0 provider=gem;
    llm_model cap-anthropic provider=cap-ant upstream_model=antb-n10-d0;
    llm_model cap-gemini provider=cap-gem upstream_model=gemb-n10-d0;
    server {
        listen 127.0.0.1:$2 backlog=4096;
        location = /v1/chat/completions { llm_chat; }
    }
}
EOF
        else
            cat <<EOF
    server {
        listen 127.0.0.1:$2 backlog=4096;
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

start llm "$LLM"
start proxy "$PROXY" "$PROXY_ENV"

# the bodies: llm's (OpenAI's form) per dialect, proxy's (what that
# provider gets) per dialect

declare -A MODEL=([openai]=bench-n10-d0 [anthropic]=antb-n10-d0
                  [gemini]=gemb-n10-d0)
declare -A PPATH=([openai]=/v1/chat/completions)

for d in openai anthropic gemini; do
    mkdir -p "$OUT/body/$d"
    python3 "$BENCH/agent_bodies.py" "$OUT/body/$d" "${MODEL[$d]}"
done
mkdir -p "$OUT/body/cap" "$OUT/native/openai"
cp "$OUT/body/openai/"*.json "$OUT/native/openai/"

for d in anthropic gemini; do
    python3 "$BENCH/agent_bodies.py" "$OUT/body/cap" "cap-$d"
    mkdir -p "$OUT/native/$d"
    for sc in conversation agent; do
        rm -f "$OUT/cap/$d.json"
        curl -s -o /dev/null "http://127.0.0.1:$LLM/v1/chat/completions" \
            -H 'Content-Type: application/json' \
            --data-binary "@$OUT/body/cap/$sc.json"
        [ -s "$OUT/cap/$d.json" ] || die "$d/$sc: nothing captured"
        mv "$OUT/cap/$d.json" "$OUT/native/$d/$sc.json"
    done
    PPATH[$d]="$(cat "$OUT/cap/$d.path")"
done

# the answers: both sides must be answered, in their own shapes
check() {   # check NAME PORT PATH BODYFILE MARK
    local r
    r="$(curl -s --max-time 10 "http://127.0.0.1:$2$3" \
         -H 'Content-Type: application/json' --data-binary "@$4")"
    case "$r" in *"$5"*) ;; *) die "$1 $4: bad answer: ${r:0:300}" ;; esac
}
declare -A MARK=([openai]='"choices"' [anthropic]='"content":[{"type":"text"'
                 [gemini]='"candidates"')
for d in openai anthropic gemini; do
    for sc in conversation agent; do
        check llm "$LLM" /v1/chat/completions "$OUT/body/$d/$sc.json" \
            '"choices"'
        check proxy "$PROXY" "${PPATH[$d]}" "$OUT/native/$d/$sc.json" \
            "${MARK[$d]}"
    done
done
say "both sides answer every body"

# load NAME PORT PATH BODYFILE SCENARIO REP MARK
load() {
    measure "$1" "$5" "$6" "http://127.0.0.1:$2$3" "$CONC" \
        BENCH_BODY_FILE="$4" BENCH_LIMIT="$REQUESTS" BENCH_STREAM=0 \
        BENCH_NS_MARK="$7"
}

for rep in $(seq 0 "$REPS"); do
    say "rep $rep/$REPS$([ "$rep" = 0 ] && echo " (warm-up)")"
    for sc in conversation agent; do
        for d in openai anthropic gemini; do
            load llm "$LLM" /v1/chat/completions "$OUT/body/$d/$sc.json" \
                "$sc.$d" "$rep" '"choices"'
            load proxy "$PROXY" "${PPATH[$d]}" "$OUT/native/$d/$sc.json" \
                "$sc.$d" "$rep" "${MARK[$d]}"
        done
    done
done

say "the scanner alone"
cc -O2 -I"$ROOT/src/core" -o "$OUT/scan_speed" "$BENCH/scan_speed.c" \
    "$ROOT"/src/core/*.c -lcjson
SCAN="$("$OUT/scan_speed" "$SCAN_LOOPS" "$OUT/body/openai/conversation.json" \
        "$OUT/body/openai/agent.json")"

python3 - "$OUT/raw.tsv" "$CLK_TCK" "$SCAN" \
    "$(wc -c < "$OUT/body/openai/conversation.json")" \
    "$(wc -c < "$OUT/body/openai/agent.json")" <<'EOF' | tee "$OUT/../agent.md"
import statistics, sys
raw, tck, scan, conv_bytes, agent_bytes = sys.argv[1:6]
cpu = {}
for line in open(raw):
    name, sc, rep, done, ticks = line.split("\t")
    if rep == "0":
        continue
    cpu.setdefault((name, sc), []).append(
        int(ticks) * 1000 / int(tck) / int(done) * 1000)
goals = {"conversation.openai": 2, "conversation.anthropic": 3,
         "conversation.gemini": 3, "agent.anthropic": 3, "agent.gemini": 3}
print("| request | dialect | llm_chat | proxy_pass | ratio | paired runs: "
      "median (min–max) | goal |")
print("|---|---|---:|---:|---:|---:|:---:|")
for sc, label in (("conversation", "206 KB conversation, %s B" % conv_bytes),
                  ("agent", "agent turn, %s B" % agent_bytes)):
    for d in ("openai", "anthropic", "gemini"):
        k = "%s.%s" % (sc, d)
        a, b = (statistics.median(cpu[(n, k)]) for n in ("llm", "proxy"))
        v = sorted(x / y for x, y in zip(cpu[("llm", k)], cpu[("proxy", k)]))
        g = goals.get(k)
        print("| %s | %s | %.0f | %.0f | %.2f× | %.2f× (%.2f–%.2f) | %s |"
              % (label, d, a, b, a / b, statistics.median(v), v[0], v[-1],
                 ("%s (≤ %d×)" % ("ok" if a / b <= g else "**no**", g))
                 if g else ""))
print()
print("CPU ms per 1,000 requests (the worker's user + system time).")
print()
print("The scanner alone (llm_request_parse, -O2): " + scan)
EOF
