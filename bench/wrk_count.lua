-- wrk script for bench/run.sh: POST a chat completion, stop after a fixed
-- number of responses.  Run with one thread (-t1); the body comes from
-- BENCH_BODY, the number of responses from BENCH_LIMIT.  -d bounds the
-- time: if it runs out first, done() reports what was completed.
--
-- Prints one line:
--   RESULT completed=N errors=E bad_body=B bytes=S how=limit|time
-- errors: non-200 answers; bad_body: a stream that did not end with
-- "data: [DONE]" or a non-stream body without "choices".  For native
-- Anthropic/Gemini bodies (the proxy side of those scenarios):
-- BENCH_END (a string that must be in the last BENCH_END_WIN bytes of a
-- stream) and BENCH_NS_MARK (a string every non-stream body must contain).

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")

-- BENCH_BODY_FILE: the body from a file (an environment string is at most
-- 128 KB)
if os.getenv("BENCH_BODY_FILE") then
    local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
    wrk.body = f:read("*a")
    f:close()
end
wrk.headers["Content-Type"] = "application/json"

-- BENCH_UNIQUE=1: "__N__" in the body becomes 1, 2, 3, ... (one thread):
-- every request a different one (the cache's miss path)
if os.getenv("BENCH_UNIQUE") == "1" then
    local n = tonumber(os.getenv("BENCH_FIRST") or "1") - 1

    function request()
        n = n + 1
        return wrk.format(nil, nil, nil,
                          string.gsub(wrk.body, "__N__", tostring(n)))
    end
end

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    count = 0
    errors = 0
    bad_body = 0
    bytes = 0
    limit = tonumber(os.getenv("BENCH_LIMIT") or "1000")
    stream = (os.getenv("BENCH_STREAM") == "1")
    end_mark = os.getenv("BENCH_END") or "data: [DONE]\n\n"
    end_win = tonumber(os.getenv("BENCH_END_WIN") or "0")
    if end_win < #end_mark then end_win = #end_mark end
    ns_mark = os.getenv("BENCH_NS_MARK") or "\"choices\""
end

local function report(c, e, b, s, how)
    io.write(string.format("RESULT completed=%d errors=%d bad_body=%d "
                           .. "bytes=%d how=%s\n", c, e, b, s, how))
    io.flush()
end

function response(status, headers, body)
    count = count + 1
    bytes = bytes + #body

    if status ~= 200 then
        errors = errors + 1
    elseif stream then
        if string.find(body, end_mark, -end_win, true) == nil then
            bad_body = bad_body + 1
        end
    elseif string.find(body, ns_mark, 1, true) == nil then
        bad_body = bad_body + 1
    end

    if count >= limit then
        -- wrk would wait for -d to run out: leave now (one thread only)
        report(count, errors, bad_body, bytes, "limit")
        os.exit(0)
    end
end

function done(summary, latency, requests)
    local c, e, b, s = 0, 0, 0, 0
    for _, t in ipairs(threads) do
        c = c + t:get("count")
        e = e + t:get("errors")
        b = b + t:get("bad_body")
        s = s + t:get("bytes")
    end
    report(c, e, b, s, "time")
end
