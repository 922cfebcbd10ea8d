#!/usr/bin/env python3
"""Memory per open stream: keep COUNT slow SSE streams open at once and
sample an nginx worker's memory while they run (bench/run.sh uses it).

    slow_streams.py --port P --pid WORKER_PID [--count 1000]
        [--model bench-n100-d100] [--events 100] [--delay-ms 100]
        [--at 0.25,0.5,0.9] [--timeout 120]
        [--path /v1/chat/completions] [--body JSON] [--end BYTES]

--path/--body/--end (the body's end, before the last chunk) are for native
Anthropic/Gemini requests (the proxy side of those scenarios).

--stall: the clients read the response head, then never read again (a
4 KB receive buffer each): the samples
are taken at the --at fractions of --stall-seconds, then every connection
is closed.  What a worker holds per stalled stream is (sample - baseline)
/ COUNT; the exit status says whether every response began with 200.

Opens COUNT keep-alive connections to 127.0.0.1:P, sends one POST
/v1/chat/completions with "stream":true on each, and reads the events as
they arrive.  The worker's VmRSS (/proc/PID/status) and Private_Dirty
(/proc/PID/smaps_rollup) are sampled before the first connection
("baseline"), at the given fractions of the stream length (EVENTS x
DELAY_MS, counted from the moment the last request was sent), and after
all streams ended and their connections were closed.  Prints one JSON
object.  Python 3 standard library only; every wait is bounded.
"""

import argparse
import asyncio
import json
import socket
import sys
import time

END = b"data: [DONE]\n\n\r\n0\r\n\r\n"


def mem(pid):
    """(VmRSS kB, Private_Dirty kB or None) of pid."""
    rss = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
                break
    dirty = None
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Private_Dirty:"):
                    dirty = int(line.split()[1])
                    break
    except OSError:
        pass
    return rss, dirty


class Stream:
    __slots__ = ("events", "done", "error", "nbytes", "tail")

    def __init__(self):
        self.events = 0
        self.done = False
        self.error = None
        self.nbytes = 0
        self.tail = b""


async def connect(port, stall):
    if not stall:
        return await asyncio.open_connection("127.0.0.1", port)
    # a client that stops reading: its window closes at once
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await asyncio.open_connection(sock=sock)


async def one(port, body, st, opened, go, path=b"/v1/chat/completions",
              stall=False):
    try:
        reader, writer = await connect(port, stall)
    except OSError as e:
        st.error = f"connect: {e}"
        opened.release()
        return
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = (b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    writer.write(req)
    opened.release()
    if stall:
        # the response has begun (its head read), then nothing more is
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            if not head.startswith(b"HTTP/1.1 200"):
                st.error = "status: " + head.split(b"\r\n", 1)[0].decode()
        except (OSError, asyncio.TimeoutError,
                asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
            st.error = f"head: {e!r}"
        await go.wait()
        writer.close()
        return
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            st.error = "status: " + head.split(b"\r\n", 1)[0].decode()
            writer.close()
            return
        while True:
            data = await reader.read(65536)
            if not data:
                st.error = "eof before the end of the stream"
                break
            st.nbytes += len(data)
            buf = st.tail + data
            st.events += buf.count(b"data: ") - st.tail.count(b"data: ")
            st.tail = buf[-len(END):]
            if st.tail == END:
                st.done = True
                break
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
        st.error = f"read: {e!r}"
    # keep the connection until every stream is done, like an idle client
    await go.wait()
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--model", default="bench-n100-d100")
    ap.add_argument("--events", type=int, default=100)
    ap.add_argument("--delay-ms", type=int, default=100)
    ap.add_argument("--at", default="0.25,0.5,0.9")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--path", default="/v1/chat/completions")
    ap.add_argument("--body", default=None)
    ap.add_argument("--end", default=None)
    ap.add_argument("--stall", action="store_true")
    ap.add_argument("--stall-seconds", type=float, default=3)
    a = ap.parse_args()
    global END
    if a.end is not None:
        END = a.end.encode().decode("unicode_escape").encode("latin-1") \
            + b"\r\n0\r\n\r\n"

    body = json.dumps({
        "model": a.model,
        "stream": True,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Explain load balancing briefly."},
        ],
    }, separators=(",", ":")).encode()
    if a.body is not None:
        body = a.body.encode()

    fractions = [float(x) for x in a.at.split(",") if x]
    length = a.stall_seconds if a.stall else a.events * a.delay_ms / 1000.0

    out = {"count": a.count, "model": a.model, "stream_seconds": length,
           "samples": []}

    rss, dirty = mem(a.pid)
    out["baseline"] = {"rss_kb": rss, "private_dirty_kb": dirty}

    streams = [Stream() for _ in range(a.count)]
    opened = asyncio.Semaphore(0)
    go = asyncio.Event()
    t_open = time.monotonic()
    tasks = []
    # open in batches so the listen queue never overflows
    for i, st in enumerate(streams):
        tasks.append(asyncio.create_task(one(a.port, body, st, opened, go,
                                             a.path.encode(), a.stall)))
        if i % 100 == 99:
            await asyncio.sleep(0)
    for _ in range(a.count):
        await asyncio.wait_for(opened.acquire(), timeout=a.timeout)
    t0 = time.monotonic()
    out["open_seconds"] = round(t0 - t_open, 3)

    for frac in fractions:
        delay = t0 + frac * length - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        rss, dirty = mem(a.pid)
        live = sum(1 for s in streams if not s.done and s.error is None)
        ev = sorted(s.events for s in streams)
        out["samples"].append({
            "at": frac, "t": round(time.monotonic() - t0, 3),
            "rss_kb": rss, "private_dirty_kb": dirty, "open_streams": live,
            "events_min": ev[0], "events_median": ev[len(ev) // 2],
        })

    deadline = t0 + (0 if a.stall else a.timeout)
    while time.monotonic() < deadline:
        if all(s.done or s.error for s in streams):
            break
        await asyncio.sleep(0.1)

    rss, dirty = mem(a.pid)
    out["ended"] = {"rss_kb": rss, "private_dirty_kb": dirty,
                    "t": round(time.monotonic() - t0, 3)}

    go.set()
    await asyncio.wait(tasks, timeout=30)
    for t in tasks:
        t.cancel()

    await asyncio.sleep(0.5)
    rss, dirty = mem(a.pid)
    out["closed"] = {"rss_kb": rss, "private_dirty_kb": dirty}

    out["completed"] = sum(1 for s in streams if s.done)
    out["events_per_stream"] = sorted(s.events for s in streams)[a.count // 2]
    out["bytes_per_stream"] = sum(s.nbytes for s in streams) // max(1, a.count)
    errs = [s.error for s in streams if s.error]
    out["errors"] = len(errs)
    if errs:
        out["first_error"] = errs[0]
    print(json.dumps(out))
    if a.stall:
        return 0 if out["errors"] == 0 else 1
    return 0 if out["completed"] == a.count else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
