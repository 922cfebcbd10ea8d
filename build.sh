#!/usr/bin/env bash
#
# ngx_http_llm_module: install build/test dependencies, build, run, test.
#
#   ./build.sh            install what is missing (Debian 12) and build
#   ./build.sh run        build, then run the gateway in the foreground on
#                         127.0.0.1:8080 with nginx.conf.example (and the
#                         demo provider on 127.0.0.1:8081)
#   ./build.sh test       build, then run every test (unit, fuzz, nginx)
#   ./build.sh deps       only install dependencies (Debian packages, and
#                         the OpenAI and Anthropic Node SDKs for the tests,
#                         from npm)
#   ./build.sh bench      build, then run the benchmark (bench/README.md)
#
# NGINX_SRC=<nginx source tree> builds against that nginx instead of
# Debian's nginx-dev (configured --with-compat); NGINX_BIN=<binary> picks the
# nginx binary used by run/test.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$ROOT/build"
MODULE="$BUILD/ngx_http_llm_module.so"
OPENAI_SDK="4.104.0"
OPENAI_CURRENT_SDK="7.55.0"
ANTHROPIC_SDK="1.16.0"

PACKAGES="nginx nginx-dev libcjson-dev gcc make clang libclang-rt-14-dev
          perl python3 openssl ca-certificates curl procps wrk
          debhelper dpkg-dev lintian prometheus chromium"

say() { printf '==> %s\n' "$*" >&2; }

# Debian packages for building, running and testing
system_deps() {
    local missing=""

    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
            | grep -q "install ok installed" || missing="$missing $p"
    done

    # node and npm, for the OpenAI SDK test, from Debian if not there yet
    command -v npm >/dev/null || missing="$missing nodejs npm"

    if [ -n "$missing" ]; then
        apt_install $missing
    fi
}

deps() {
    system_deps
    sdk
}

# the official OpenAI and Anthropic Node SDKs, for t/40-openai-sdk.t,
# t/71-anthropic-sdk.t and t/73-responses-sdk.t (npm registry); the
# current OpenAI major as "openai-current", for its stricter Responses
# stream accumulator
sdk() {
    local dir="$BUILD/sdk"

    sdk_has openai "$OPENAI_SDK" && sdk_has @anthropic-ai/sdk "$ANTHROPIC_SDK" \
        && sdk_has openai-current "$OPENAI_CURRENT_SDK" && return 0

    say "installing the OpenAI Node SDKs $OPENAI_SDK and" \
        "$OPENAI_CURRENT_SDK and the Anthropic SDK $ANTHROPIC_SDK into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
        "openai@$OPENAI_SDK" "@anthropic-ai/sdk@$ANTHROPIC_SDK" \
        "openai-current@npm:openai@$OPENAI_CURRENT_SDK" >/dev/null
}

sdk_has() {
    local pkg="$BUILD/sdk/node_modules/$1/package.json"

    [ -f "$pkg" ] && grep -q "\"version\": \"$2\"" "$pkg"
}

apt_install() {
    local sudo=""

    [ "$(id -u)" -eq 0 ] || sudo="sudo"

    say "installing: $*"

    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    # the nginx package must not start a system nginx on port 80 here
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    $sudo apt-get install -y -qq --no-install-recommends "$@"
    $sudo rm -f /usr/sbin/policy-rc.d
}

build() {
    local src="${NGINX_SRC:-}" srcs

    mkdir -p "$BUILD"

    if [ -z "$src" ]; then
        src="$(dirname "$(dpkg -L nginx-dev | grep '/src/configure$')")"
    fi

    # reconfigure when config, the nginx source or the list of source
    # files changed (config takes src/core/*.c as found): make handles
    # changes inside the files
    srcs="$src $(cd "$ROOT" && echo src/*.c src/core/*.c)"

    if [ ! -f "$BUILD/Makefile" ] || [ "$ROOT/config" -nt "$BUILD/Makefile" ] \
       || [ "$(cat "$BUILD/.src" 2>/dev/null)" != "$srcs" ]
    then
        say "configuring against $src"
        if [ -f "$src/conf_flags" ]; then
            # Debian's nginx-dev: Debian's own flags, so the ABI matches
            ( cd "$src" && bash -c '. ./conf_flags && ./configure \
                --with-cc-opt="$(dpkg-buildflags --get CFLAGS) -fPIC $(dpkg-buildflags --get CPPFLAGS)" \
                --with-ld-opt="$(dpkg-buildflags --get LDFLAGS) -fPIC" \
                "${NGX_CONF_FLAGS[@]}" \
                --add-dynamic-module="$0" --builddir="$1"' \
                "$ROOT" "$BUILD" ) > "$BUILD/configure.log" 2>&1 \
                || { cat "$BUILD/configure.log"; exit 1; }
        else
            # a release tarball has ./configure, a source checkout auto/
            local configure=./configure
            [ -f "$src/configure" ] || configure=auto/configure

            ( cd "$src" && $configure --with-compat --with-debug \
                --with-http_ssl_module --add-dynamic-module="$ROOT" \
                --builddir="$BUILD" ) > "$BUILD/configure.log" 2>&1 \
                || { cat "$BUILD/configure.log"; exit 1; }
        fi
        echo "$srcs" > "$BUILD/.src"
    fi

    say "building $MODULE"
    make -s -f "$BUILD/Makefile" -C "$src" modules
    cp "$BUILD/ngx_http_llm_module.so" "$MODULE" 2>/dev/null || true
}

run() {
    local prefix="$BUILD/run" port_mock=8081

    mkdir -p "$prefix/logs" "$prefix/modules" "$prefix/temp"
    ln -sf "$MODULE" "$prefix/modules/ngx_http_llm_module.so"

    say "starting the demo provider on 127.0.0.1:$port_mock"
    python3 "$ROOT/t/mock/provider.py" --port "$port_mock" --demo \
        --log "$prefix/logs/demo-provider.log" &
    # a global: the EXIT trap runs after run() and its locals are gone
    DEMO_PID=$!
    trap 'kill "${DEMO_PID:-}" 2>/dev/null || true' EXIT

    for k in OPENAI_API_KEY ANTHROPIC_API_KEY GEMINI_API_KEY XAI_API_KEY \
             GROQ_API_KEY MISTRAL_API_KEY DEEPSEEK_API_KEY; do
        if [ -n "${!k:-}" ]; then say "$k is set: its provider is enabled"; fi
    done

    say "gateway on http://127.0.0.1:8080 (Ctrl-C stops it)"
    say "try: curl -s localhost:8080/v1/chat/completions -H 'Content-Type: application/json' -d '{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'"
    "${NGINX_BIN:-/usr/sbin/nginx}" -p "$prefix/" -c "$ROOT/nginx.conf.example" \
        -g 'daemon off;'
}

# the Debian package libnginx-mod-http-llm, built as Debian builds its
# nginx modules (debian/: debhelper, nginx-dev's nginx_mod build system and
# dh_nginx) from a copy of the tracked tree, into build/deb/
deb() {
    local out="$BUILD/deb" src="$BUILD/deb/src/ngx-http-llm-module"

    rm -rf "$out"
    mkdir -p "$src"

    if [ -d "$ROOT/.git" ]; then
        (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
             | xargs -0 cp --parents -t "$src")
    else
        (cd "$ROOT" && tar --exclude=./build -cf - .) | (cd "$src" && tar xf -)
    fi

    say "building the Debian package in $out"
    (cd "$src" && dpkg-buildpackage -b -us -uc >"$out/build.log" 2>&1) \
        || { tail -n 40 "$out/build.log" >&2; exit 1; }

    mv "$out"/src/*.deb "$out/"
    say "$(ls "$out"/*.deb)"
}

run_tests() {
    cd "$ROOT"
    prove -r t/
}

cmd="${1:-build}"

case "$cmd" in
    deps)  deps ;;
    build) system_deps; build ;;
    run)   system_deps; build; run ;;
    test)  deps; build; run_tests ;;
    bench) deps; build; exec "$ROOT/bench/run.sh" ;;
    deb)   system_deps; deb ;;
    *)     echo "usage: $0 [build|run|test|deps|bench|deb]" >&2; exit 2 ;;
esac
