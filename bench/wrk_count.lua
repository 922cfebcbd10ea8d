-- wrk script for bench/run.sh: POST a chat completion, stop after a fixed
-- number of responses.  Run with one thread (-t1); the body comes from
-- BENCH_BODY, the number of responses from BENCH_LIMIT.  -d bounds the
-- time: if it runs out first, done() reports what was completed.
--
-- Prints one line:
--   RESULT completed=N errors=E bad_body=B bytes=S how=limit|time
-- errors: non-200 answers; bad_body: a stream that did not end with
-- "data: [DONE]" or a non-stream body without "choices".

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"

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
        if string.find(body, "data: [DONE]\n\n", -14, true) == nil then
            bad_body = bad_body + 1
        end
    elseif string.find(body, "\"choices\"", 1, true) == nil then
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
