#!/usr/bin/env python3
"""Mock OpenAI-compatible LLM provider for the ngx_http_llm_module tests.

Python 3.11 standard library only.

    python3 t/mock/provider.py --port P [--host 127.0.0.1] [--log FILE]
        [--fixtures DIR] [--key KEY] [--tls-cert C --tls-key K] [--demo]

The request's "model" field selects a scenario: a comma-separated list of
key=value pairs, e.g. "fixture=openai/chat-tool-call.stream.sse,delay_ms=50".
A model without "=" (or any request when --demo is given) gets the friendly
demo answer.  Keys:

  fixture=REL        replay a file under --fixtures:
                       *.sse          byte-for-byte, one write per SSE event
                       *.stream.jsonl one JSON object per line, framed like the
                                      provider sends it (see frame_jsonl)
                       *.json         application/json with Content-Length
                     status (and Content-Type) come from REL.meta.json if present
  framing=openai|anthropic|gemini   override the .stream.jsonl framing
  status=N           override the status code
  retry_after=S      add "Retry-After: S"
  ctype=TYPE         override Content-Type
  te=chunked|length|close   body framing (default chunked for streams, or
                     close for HTTP/1.0 requests; Content-Length otherwise;
                     close = no length, close the connection at the end)
  split=N            write the body in N-byte pieces instead of per event
  delay_ms=N         sleep N ms before each event / piece
  header_delay_ms=N  sleep N ms before sending the response headers
  cut_after=N        send only the first N events, then close (no terminator)
  bad_chunked=1      after the first event send an invalid chunk-size line, close
  bad_sse=1          one good chunk, then "data: {not json", then [DONE]
  hang=1             read the request and never answer (until the peer closes)
  stall_after=N      send the first N events, then hold the connection open
                     without sending more (until the peer closes)
  keepalive_comments=N  N ": keep-alive" comments before the first event
  events=N           synthesized OpenAI stream with N content chunks "tokI "
  echo=1             the reply content is the raw request body text
  echo_key=1         a 401 whose message holds the key the request carried
  retry_after_ms=N   add "retry-after-ms: N" (OpenAI's header)
  rl_requests=N      OpenAI's rate-limit headers, as its docs show them:
                     x-ratelimit-remaining-requests: N (limit 100) and
                     x-ratelimit-reset-requests: <rl_reset>s; the tokens
                     pair says 150000 of 160000 left
  rl_tokens=N        x-ratelimit-remaining-tokens: N (limit 160000),
                     x-ratelimit-reset-tokens: <rl_reset>s
  rl_reset=S         the reset of those (default 6), in seconds
  rl_reset_raw=TEXT  every reset header's value is TEXT as it is (a value
                     the gateway cannot read)
  anthropic_rl=N     Anthropic's: anthropic-ratelimit-requests-remaining: N
                     (limit 50), -reset an RFC 3339 time rl_reset seconds
                     ahead; the tokens family with room
  seq=S1;S2;...      a behaviour per request: the N-th request with this
                     scenario (or with the same id=) gets S_N, the last one
                     repeating.  S is "ok", a bare status ("429"), or
                     "key:value|key:value" with the keys above (e.g.
                     "status:503|retry_after:1", "hang:1", "events:3");
                     the scenario's other keys are defaults for every step
  id=KEY             the counter of seq= (default: the whole scenario), so
                     that several models or providers can share a sequence
  body=TEXT          literal response body; MUST be the last key (it takes
                     the rest of the string, commas included); a body
                     starting "data:" is sent as an event stream
  raw=1              in body=, "\\xNN" stands for the byte NN (to send
                     invalid UTF-8)
  short_by=N         Content-Length says N bytes more than are sent, then
                     the connection is closed
  max_inputs=N       embeddings: a 400 when a request has more than N inputs
  base64=1           embeddings: vectors as base64 even when floats were asked
  fail_text=T        embeddings: a 500 when an input is the text T
  hang_text=T        embeddings: no answer (until the peer closes) when an
                     input is the text T

Embeddings (POST .../embeddings, .../models/M:batchEmbedContents; under a
path starting with /voyage/ the Voyage API) are checked strictly and, unless
a fixture, body or status is given, answered with synthesized vectors: for
an input text t, [its UTF-8 length, sum of its bytes % 997, 0.5, -0.25, 0, 0, ...]
(dimensions long, default 4), so order and content can be checked.  Usage:
OpenAI prompt_tokens = total_tokens = words; Voyage total_tokens only;
Gemini none.

The demo answer takes the provider's shape from the path: a chat.completion,
an Anthropic message (.../messages) or a Gemini response (...:generateContent,
...:streamGenerateContent), streamed one word per event when asked.
POST .../responses answers as OpenAI's own Responses API (a response object
or its typed events); a model whose name holds "fail" breaks the stream
with response.failed after the first delta.
POST .../messages/count_tokens (checked like Anthropic's) answers
{"input_tokens": N}, N the words of the system prompt and the messages.

An unknown key or a non-numeric value gets a 400 (code "mock_bad_scenario").
Without "model" in the body (Gemini), the scenario is taken from the URL
path ".../models/<scenario>:<method>".  --key accepts "Authorization: Bearer
KEY", "x-api-key: KEY" or "x-goog-api-key: KEY".

GET /__requests?key=KEY answers {"count": N}: how many requests with the
scenario KEY (or with id=KEY) the mock has seen.

Every request and every connection close is appended as a JSON line to --log:
  {"n", "conn", "method", "path", "headers": {lowercased: value}, "body"[, "sni"]}
  {"event": "close", "conn", "by": "client"|"server", "reason", "requests"}
"""

import argparse
import json
import os
import re
import select
import socket
import socketserver
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

CREATED = 1700000000
UPSTREAM_MODEL = "mock-upstream-model"
DEMO_WORD_DELAY_MS = 30
DONE = b"data: [DONE]\n\n"


class ClientGone(Exception):
    """The peer closed the connection (or the request was truncated)."""


# --------------------------------------------------------------------------
# Shared state: counters and the request log

class MockState:
    def __init__(self, log_path, fixtures, key, demo):
        self.lock = threading.Lock()
        self.log_file = open(log_path, "a", encoding="utf-8") if log_path else None
        self.fixtures = os.path.abspath(fixtures)
        self.key = key
        self.demo = demo
        self.tls_context = None
        self.conn_seq = 0
        self.req_seq = 0
        self.seq_counts = {}

    def seq_next(self, key):
        """The 0-based index of this request among those with key."""
        with self.lock:
            n = self.seq_counts.get(key, 0)
            self.seq_counts[key] = n + 1
            return n

    def seq_count(self, key):
        with self.lock:
            return self.seq_counts.get(key, 0)

    def next_conn_id(self):
        with self.lock:
            self.conn_seq += 1
            return self.conn_seq

    def next_request_id(self):
        with self.lock:
            self.req_seq += 1
            return self.req_seq

    def log(self, record):
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self.lock:
            if self.log_file:
                self.log_file.write(line)
                self.log_file.flush()


STATE = None  # set in main()


# --------------------------------------------------------------------------
# Helpers to build OpenAI-shaped responses

def words(text):
    return len(text.split())


def message_text(content):
    """Text of a message content (a string or a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content
                 if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return " ".join(parts)
    return ""


def prompt_word_count(body):
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return 0
    return sum(words(message_text(m.get("content")))
               for m in messages if isinstance(m, dict))


def last_user_text(body):
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return ""
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            return message_text(m.get("content"))
    return ""


def wants_usage(body):
    opts = body.get("stream_options") if isinstance(body, dict) else None
    return isinstance(opts, dict) and opts.get("include_usage") is True


def usage_block(prompt_tokens, completion_tokens):
    return {"prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def compact(obj):
    """JSON bytes without spaces, as the providers send it."""
    return json.dumps(obj, separators=(",", ":")).encode()


def sse(obj):
    return b"data: " + compact(obj) + b"\n\n"


def chat_completion(cid, model, text, usage):
    return {"id": cid, "object": "chat.completion", "created": CREATED,
            "model": model,
            "choices": [{"index": 0,
                         "message": {"role": "assistant", "content": text,
                                     "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": usage}


def chunk(cid, model, delta, finish_reason=None, with_usage_field=False):
    c = {"id": cid, "object": "chat.completion.chunk", "created": CREATED,
         "model": model,
         "choices": [{"index": 0, "delta": delta, "logprobs": None,
                      "finish_reason": finish_reason}]}
    if with_usage_field:
        c["usage"] = None  # OpenAI sends usage:null when include_usage is set
    return c


def stream_events(cid, model, texts, include_usage, prompt_tokens):
    """Role chunk, one chunk per text, finish chunk, [usage chunk], [DONE]."""
    events = [sse(chunk(cid, model, {"role": "assistant", "content": ""},
                        None, include_usage))]
    for t in texts:
        events.append(sse(chunk(cid, model, {"content": t}, None, include_usage)))
    events.append(sse(chunk(cid, model, {}, "stop", include_usage)))
    if include_usage:
        usage = usage_block(prompt_tokens, words("".join(texts)))
        events.append(sse({"id": cid, "object": "chat.completion.chunk",
                           "created": CREATED, "model": model,
                           "choices": [], "usage": usage}))
    events.append(DONE)
    return events


def anthropic_text(content):
    """Text of an Anthropic content (a string or blocks), tool results too."""
    if isinstance(content, str):
        return content
    out = []
    for b in content if isinstance(content, list) else []:
        if not isinstance(b, dict):
            continue
        if isinstance(b.get("text"), str):
            out.append(b["text"])
        elif b.get("type") == "tool_result":
            out.append(anthropic_text(b.get("content", "")))
    return " ".join(out)


def anthropic_input_tokens(body):
    """Words of the system prompt and every message: the mock's count."""
    n = words(anthropic_text(body.get("system", "")))
    for m in body.get("messages", []):
        if isinstance(m, dict):
            n += words(anthropic_text(m.get("content", "")))
    return n


def anthropic_reply_events(mid, model, text, input_tokens):
    """An Anthropic Messages stream of text, one delta per word."""
    def ev(name, obj):
        return b"event: " + name.encode() + b"\ndata: " + compact(obj) + b"\n\n"
    pieces = re.findall(r"\S+\s*", text) or [""]
    usage = {"input_tokens": input_tokens, "cache_creation_input_tokens": 0,
             "cache_read_input_tokens": 0, "output_tokens": 1}
    events = [ev("message_start", {"type": "message_start", "message": {
                  "id": mid, "type": "message", "role": "assistant", "model": model,
                  "content": [], "stop_reason": None, "stop_sequence": None,
                  "usage": usage}}),
              ev("content_block_start", {"type": "content_block_start", "index": 0,
                                         "content_block": {"type": "text", "text": ""}}),
              ev("ping", {"type": "ping"})]
    for t in pieces:
        events.append(ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                 "delta": {"type": "text_delta", "text": t}}))
    events.append(ev("content_block_stop", {"type": "content_block_stop", "index": 0}))
    events.append(ev("message_delta", {"type": "message_delta",
                                       "delta": {"stop_reason": "end_turn",
                                                 "stop_sequence": None},
                                       "usage": dict(usage, output_tokens=words(text))}))
    events.append(ev("message_stop", {"type": "message_stop"}))
    return events


def anthropic_message(mid, model, text, input_tokens):
    return {"id": mid, "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": words(text)}}


def responses_input_text(body):
    """The last user text of a Responses request's input."""
    inp = body.get("input") if isinstance(body, dict) else None
    if isinstance(inp, str):
        return inp
    for item in reversed(inp if isinstance(inp, list) else []):
        if isinstance(item, dict) and item.get("role") == "user":
            c = item.get("content")
            if isinstance(c, str):
                return c
            return " ".join(p.get("text", "") for p in c or []
                            if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def responses_object(rid, model, status, output, usage):
    return {"id": rid, "object": "response", "created_at": 1767225600,
            "status": status, "error": None, "incomplete_details": None,
            "instructions": None, "max_output_tokens": None, "model": model,
            "output": output, "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None}, "store": True,
            "temperature": 1.0, "text": {"format": {"type": "text"}},
            "tool_choice": "auto", "tools": [], "top_p": 1.0,
            "truncation": "disabled", "usage": usage, "user": None,
            "metadata": {}}


def responses_reply(n, model, text, prompt, is_stream, fail):
    """OpenAI's own /v1/responses: the object, or its typed events."""
    rid, mid = "resp_mock%d" % n, "msg_mock%d" % n
    usage = {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": words(text),
             "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": prompt + words(text)}
    done = {"id": mid, "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}
    if not is_stream:
        return Reply(200, "application/json",
                     [compact(responses_object(rid, model, "completed", [done], usage))],
                     False)
    events, seq = [], [0]

    def ev(obj):
        obj["sequence_number"] = seq[0]
        seq[0] += 1
        events.append(b"event: %s\ndata: %s\n\n" % (obj["type"].encode(), compact(obj)))

    start = responses_object(rid, model, "in_progress", [], None)
    ev({"type": "response.created", "response": start})
    ev({"type": "response.in_progress", "response": start})
    ev({"type": "response.output_item.added", "output_index": 0,
        "item": {"id": mid, "type": "message", "status": "in_progress",
                 "role": "assistant", "content": []}})
    ev({"type": "response.content_part.added", "item_id": mid, "output_index": 0,
        "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}})
    for piece in re.findall(r"\S+\s*", text):
        ev({"type": "response.output_text.delta", "item_id": mid, "output_index": 0,
            "content_index": 0, "delta": piece, "logprobs": []})
        if fail:
            failed = responses_object(rid, model, "failed", [], None)
            failed["error"] = {"code": "server_error", "message": "The model crashed."}
            ev({"type": "response.failed", "response": failed})
            return Reply(200, "text/event-stream", events, True)
    ev({"type": "response.output_text.done", "item_id": mid, "output_index": 0,
        "content_index": 0, "text": text, "logprobs": []})
    ev({"type": "response.content_part.done", "item_id": mid, "output_index": 0,
        "content_index": 0, "part": done["content"][0]})
    ev({"type": "response.output_item.done", "output_index": 0, "item": done})
    ev({"type": "response.completed",
        "response": responses_object(rid, model, "completed", [done], usage)})
    return Reply(200, "text/event-stream", events, True)


def gemini_reply(n, model, pieces, prompt, is_stream):
    """A Gemini answer of text: one chunk per piece, or one response."""
    def chunk(parts, last):
        c = {"candidates": [{"content": {"parts": parts, "role": "model"},
                             "index": 0}],
             "usageMetadata": {"promptTokenCount": prompt, "totalTokenCount": prompt},
             "modelVersion": model, "responseId": "gemmock%d" % n}
        if last:
            out = words("".join(pieces))
            c["candidates"][0]["finishReason"] = "STOP"
            c["usageMetadata"] = {"promptTokenCount": prompt,
                                  "candidatesTokenCount": out,
                                  "totalTokenCount": prompt + out}
        return c
    if is_stream:
        events = [b"data: " + compact(chunk([{"text": t}], i == len(pieces) - 1))
                  + b"\r\n\r\n" for i, t in enumerate(pieces)]
        return Reply(200, "text/event-stream", events, True)
    return Reply(200, "application/json",
                 [compact(chunk([{"text": "".join(pieces)}], True))], False)


def error_body(message, etype="invalid_request_error", param=None, code=None):
    return {"error": {"message": message, "type": etype,
                      "param": param, "code": code}}


def split_sse_events(data):
    """Split raw SSE bytes into events, keeping the blank-line separators."""
    events, current = [], b""
    for line in data.splitlines(keepends=True):
        current += line
        if line in (b"\n", b"\r\n", b"\r"):
            events.append(current)
            current = b""
    if current:
        events.append(current)
    return events


def frame_jsonl(data, framing):
    """Frame vercel-style JSON lines as the provider would send them."""
    lines = [l.strip() for l in data.split(b"\n") if l.strip()]
    if framing == "anthropic":
        return [b"event: " + json.loads(l)["type"].encode() + b"\ndata: " + l + b"\n\n"
                for l in lines]
    if framing == "gemini":
        return [b"data: " + l + b"\r\n\r\n" for l in lines]
    return [b"data: " + l + b"\n\n" for l in lines] + [DONE]


def parse_scenario(text):
    """'a=1,b=2,body=x,y' -> {'a': '1', 'b': '2', 'body': 'x,y'}."""
    opts = {}
    rest = text
    while rest:
        if rest.startswith("body="):
            opts["body"] = rest[len("body="):]
            break
        item, _, rest = rest.partition(",")
        key, eq, value = item.partition("=")
        if eq:
            opts[key.strip()] = value.strip()
    return opts


def guess_ctype(text):
    stripped = text.lstrip()
    if stripped.startswith("<"):
        return "text/html"
    if stripped.startswith("{") or stripped.startswith("["):
        return "application/json"
    return "text/plain"


INT_KEYS = {"status", "retry_after", "split", "delay_ms", "header_delay_ms", "cut_after",
            "bad_chunked", "bad_sse", "hang", "keepalive_comments", "events", "echo",
            "stall_after", "retry_after_ms", "max_inputs", "base64", "error_event",
            "raw", "short_by", "echo_key", "rl_requests", "rl_tokens",
            "rl_reset", "anthropic_rl"}
OTHER_KEYS = {"fixture", "framing", "ctype", "te", "body", "seq", "id", "fail_text",
              "hang_text", "sig_from", "rl_reset_raw"}


def seq_step(index, opts):
    """The scenario of the index-th request of a seq= scenario."""
    steps = opts.pop("seq").split(";")
    step = steps[min(index, len(steps) - 1)].strip()
    if step.isdigit():
        opts["status"] = step
    elif step and step != "ok":
        for item in step.split("|"):
            k, _, v = item.partition(":")
            opts[k.strip()] = v.strip()
    return opts


def scenario_error(opts):
    """A message if the scenario has an unknown key or a bad value, else None."""
    for key, value in opts.items():
        if key not in INT_KEYS and key not in OTHER_KEYS:
            return "unknown scenario key %r" % key
        if key in INT_KEYS and not value.isdigit():
            return "scenario key %r needs a number, got %r" % (key, value)
    if opts.get("te", "chunked") not in ("chunked", "length", "close"):
        return "te must be chunked, length or close"
    if opts.get("framing", "openai") not in ("openai", "anthropic", "gemini"):
        return "framing must be openai, anthropic or gemini"
    return None


# --------------------------------------------------------------------------
# Strict checks of Gemini's tool, image, schema and thinking fields, as the
# API rejects them (the messages are Google's where known).  Scenario key
# sig_from=REL: every functionCall named like one in fixture REL must carry
# that recording's thoughtSignature (Gemini 3 rejects it missing).

GEMINI_PART_DATA = ("text", "inlineData", "fileData", "functionCall",
                    "functionResponse", "executableCode", "codeExecutionResult")
GEMINI_PART_META = {"thought", "thoughtSignature", "videoMetadata"}
GEMINI_SCHEMA_KEYS = {"type", "format", "title", "description", "nullable", "enum",
                      "maxItems", "minItems", "properties", "required", "minProperties",
                      "maxProperties", "minLength", "maxLength", "pattern", "example",
                      "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum"}
GEMINI_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}
GEMINI_GEN_KEYS = {"temperature", "topP", "topK", "candidateCount", "maxOutputTokens",
                   "stopSequences", "seed", "presencePenalty", "frequencyPenalty",
                   "responseMimeType", "responseSchema", "responseJsonSchema",
                   "thinkingConfig", "responseModalities", "responseLogprobs", "logprobs"}
GEMINI_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")


def b64_bytes(s):
    """Standard or URL-safe base64, padded or not (as Google accepts) -> bytes."""
    import base64
    if not isinstance(s, str) or not re.fullmatch(r"[A-Za-z0-9+/_-]*={0,2}", s):
        return None
    t = s.rstrip("=").replace("+", "-").replace("/", "_")
    try:
        return base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))
    except ValueError:
        return None


def gemini_schema_problem(sch, where):
    if not isinstance(sch, dict):
        return "%s: a schema must be an object" % where
    for k in sch:
        if k not in GEMINI_SCHEMA_KEYS:
            return ("Invalid JSON payload received. Unknown name \"%s\" at '%s': "
                    "Cannot find field." % (k, where))
    t = sch.get("type")
    if t is not None and (not isinstance(t, str) or t.upper() not in GEMINI_TYPES):
        return "%s.type: invalid value %r" % (where, t)
    if "enum" in sch and not (isinstance(sch["enum"], list)
                              and all(isinstance(v, str) for v in sch["enum"])):
        return "%s.enum: only strings" % where
    props = sch.get("properties", {})
    if not isinstance(props, dict):
        return "%s.properties: must be an object" % where
    for name, sub in props.items():
        p = gemini_schema_problem(sub, "%s.properties[%s]" % (where, name))
        if p:
            return p
    for name in sch.get("required", []):
        if name not in props:
            return "%s.required: property %r is not defined" % (where, name)
    if "items" in sch:
        p = gemini_schema_problem(sch["items"], where + ".items")
        if p:
            return p
    for i, sub in enumerate(sch.get("anyOf", [])):
        p = gemini_schema_problem(sub, "%s.anyOf[%d]" % (where, i))
        if p:
            return p
    return None


def gemini_signatures(rel):
    """name -> thoughtSignature of the functionCall parts recorded in REL."""
    path = os.path.normpath(os.path.join(STATE.fixtures, rel))
    with open(path, "rb") as f:
        data = f.read()
    sigs = {}
    for ev in data.split(b"\n"):
        ev = ev.strip()
        if ev.startswith(b"data:"):
            ev = ev[5:].strip()
        if not ev.startswith(b"{"):
            continue
        try:
            obj = json.loads(ev)
        except ValueError:
            continue
        for cand in obj.get("candidates", []):
            for part in cand.get("content", {}).get("parts", []):
                if "functionCall" in part and "thoughtSignature" in part:
                    sigs[part["functionCall"].get("name")] = part["thoughtSignature"]
    if not sigs and rel.endswith(".json"):
        obj = json.loads(data)
        for cand in obj.get("candidates", []):
            for part in cand.get("content", {}).get("parts", []):
                if "functionCall" in part and "thoughtSignature" in part:
                    sigs[part["functionCall"].get("name")] = part["thoughtSignature"]
    return sigs


def gemini_tool_problem(body, opts):
    def gerr(msg):
        return {"error": {"code": 400, "message": msg, "status": "INVALID_ARGUMENT"}}

    decls = {}
    tools = body.get("tools", [])
    if not isinstance(tools, list):
        return gerr("tools must be a list")
    for i, t in enumerate(tools):
        if not isinstance(t, dict) or not isinstance(t.get("functionDeclarations"), list):
            return gerr("tools[%d]: functionDeclarations expected" % i)
        for j, d in enumerate(t["functionDeclarations"]):
            where = "tools[%d].function_declarations[%d]" % (i, j)
            extra = set(d) - {"name", "description", "parameters", "parametersJsonSchema"}
            if extra:
                return gerr("Invalid JSON payload received. Unknown name \"%s\" at '%s'"
                            % (sorted(extra)[0], where))
            if not GEMINI_NAME.match(d.get("name") or ""):
                return gerr("%s.name: Invalid function name" % where)
            if "parameters" in d:
                p = gemini_schema_problem(d["parameters"], where + ".parameters")
                if p:
                    return gerr(p)
            decls[d["name"]] = d

    fcc = body.get("toolConfig", {}).get("functionCallingConfig")
    if fcc is not None:
        if fcc.get("mode") not in ("AUTO", "ANY", "NONE", "VALIDATED"):
            return gerr("toolConfig.functionCallingConfig.mode: invalid value")
        names = fcc.get("allowedFunctionNames")
        if names is not None:
            if fcc["mode"] != "ANY":
                return gerr("allowed_function_names is only allowed with mode ANY")
            for n in names:
                if n not in decls:
                    return gerr("allowed_function_names: %r is not declared" % n)
        if not decls:
            return gerr("toolConfig without tools")

    gc = body.get("generationConfig", {})
    for k in gc:
        if k not in GEMINI_GEN_KEYS:
            return gerr("Invalid JSON payload received. Unknown name \"%s\" at "
                        "'generation_config': Cannot find field." % k)
    if "responseSchema" in gc:
        if gc.get("responseMimeType") != "application/json":
            return gerr("responseSchema needs responseMimeType application/json")
        p = gemini_schema_problem(gc["responseSchema"], "generation_config.response_schema")
        if p:
            return gerr(p)
    tc = gc.get("thinkingConfig", {})
    if set(tc) - {"thinkingBudget", "includeThoughts", "thinkingLevel"}:
        return gerr("generation_config.thinking_config: unknown field")
    if "thinkingBudget" in tc and not isinstance(tc["thinkingBudget"], int):
        return gerr("thinking_budget must be an integer")

    want_sigs = gemini_signatures(opts["sig_from"]) if opts.get("sig_from") else {}
    contents = body["contents"]
    for i, c in enumerate(contents):
        calls = []
        responses = []
        for j, part in enumerate(c["parts"]):
            where = "contents[%d].parts[%d]" % (i, j)
            if not isinstance(part, dict):
                return gerr(where + ": must be an object")
            data = [k for k in part if k in GEMINI_PART_DATA]
            if len(data) != 1 or set(part) - set(GEMINI_PART_DATA) - GEMINI_PART_META:
                return gerr("%s: a part holds exactly one of text, inlineData, fileData, "
                            "functionCall, functionResponse" % where)
            if "thoughtSignature" in part and b64_bytes(part["thoughtSignature"]) is None:
                return gerr(where + ".thought_signature: invalid base64")
            if "inlineData" in part:
                d = part["inlineData"]
                if ("/" not in str(d.get("mimeType", ""))
                        or b64_bytes(d.get("data")) is None):
                    return gerr(where + ".inline_data: mimeType and base64 data required")
            if "fileData" in part:
                d = part["fileData"]
                if "/" not in str(d.get("mimeType", "")) or not d.get("fileUri"):
                    return gerr(where + ".file_data: mimeType and fileUri required")
            if "functionCall" in part:
                fc = part["functionCall"]
                if c["role"] != "model":
                    return gerr("Please ensure that function call turns come after a "
                                "user turn or function response turn.")
                if not isinstance(fc.get("args", {}), dict) or not fc.get("name"):
                    return gerr(where + ".function_call: name and object args required")
                if decls and fc["name"] not in decls:
                    return gerr(where + ".function_call: %r is not declared" % fc["name"])
                want = want_sigs.get(fc["name"])
                if want and b64_bytes(part.get("thoughtSignature")) != b64_bytes(want):
                    return gerr("Function call is missing a thought_signature in "
                                "functionCall parts. This is required for tools to work "
                                "correctly, and missing thought_signature may lead to "
                                "degraded model performance. (%s)" % where)
                calls.append(fc["name"])
            if "functionResponse" in part:
                fr = part["functionResponse"]
                if c["role"] != "user":
                    return gerr(where + ": function responses go in a user turn")
                if not isinstance(fr.get("response"), dict) or not fr.get("name"):
                    return gerr(where + ".function_response: name and object response "
                                "required")
                responses.append(fr["name"])
        if responses:
            prev = contents[i - 1] if i > 0 else None
            prev_calls = [p["functionCall"]["name"] for p in (prev or {}).get("parts", [])
                          if isinstance(p, dict) and "functionCall" in p]
            if len(prev_calls) != len(responses):
                return gerr("Please ensure that the number of function response parts is "
                            "equal to the number of function call parts of the function "
                            "call turn.")
            if sorted(prev_calls) != sorted(responses):
                return gerr("contents[%d]: function response names %r do not match the "
                            "calls %r" % (i, responses, prev_calls))
        if calls and i + 1 < len(contents):
            nxt = contents[i + 1]
            if not any(isinstance(p, dict) and "functionResponse" in p
                       for p in nxt.get("parts", [])):
                return gerr("Please ensure that function call turn comes immediately "
                            "before a function response turn.")
    return None



def openai_tools_problem(body):
    """OpenAI's own 400s for a tool history that does not pair up: each
    assistant tool_calls answered by tool messages right after it, each
    tool message answering one of those calls."""
    def err(msg, param):
        return {"error": {"message": msg, "type": "invalid_request_error",
                          "param": param, "code": None}}
    msgs = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(msgs, list):
        return None
    pending = set()
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            return None
        role = m.get("role")
        if role == "tool":
            if m.get("tool_call_id") not in pending:
                return err("Invalid parameter: messages with role 'tool' must be a "
                           "response to a preceeding message with 'tool_calls'.",
                           "messages.[%d].role" % i)
            pending.discard(m["tool_call_id"])
            continue
        if pending:
            return err("An assistant message with 'tool_calls' must be followed by tool "
                       "messages responding to each 'tool_call_id'. The following "
                       "tool_call_ids did not have response messages: %s"
                       % ", ".join(sorted(pending)), "messages.[%d].role" % i)
        if role == "assistant":
            for c in m.get("tool_calls") or []:
                if not isinstance(c, dict) or not isinstance(c.get("id"), str) \
                        or not isinstance((c.get("function") or {}).get("name"), str) \
                        or not isinstance((c.get("function") or {}).get("arguments"), str):
                    return err("Invalid tool call in messages.[%d]" % i,
                               "messages.[%d].tool_calls" % i)
                pending.add(c["id"])
    if pending:
        return err("An assistant message with 'tool_calls' must be followed by tool "
                   "messages responding to each 'tool_call_id'. The following "
                   "tool_call_ids did not have response messages: %s"
                   % ", ".join(sorted(pending)), "messages")
    return None


def anthropic_tools_problem(body, err):
    """Strict checks of Anthropic tool, image and thinking fields, worded
    like the API's own 400s; the error body, or None."""
    tools = body.get("tools", [])
    names = set()
    if not isinstance(tools, list):
        return err("tools: Input should be a valid list")
    for i, t in enumerate(tools):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str) \
                or not re.fullmatch(r"[a-zA-Z0-9_-]{1,128}", t["name"]):
            return err("tools.%d.name: String should match pattern" % i)
        if t.get("type", "custom") != "custom":
            # a server tool (web_search_20250305, ...): Anthropic runs it
            if not re.fullmatch(r"[a-z_]+_\d{8}", t["type"]):
                return err("tools.%d.type: unknown tool type %r" % (i, t["type"]))
            names.add(t["name"])
            continue
        schema = t.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            return err("tools.%d.input_schema.type: Input should be 'object'" % i)
        if set(t) - {"name", "description", "input_schema", "cache_control"}:
            return err("tools.%d: Extra inputs are not permitted" % i)
        names.add(t["name"])
    choice = body.get("tool_choice")
    if choice is not None:
        if not tools:
            return err("tool_choice: may only be specified while providing tools")
        if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
            return err("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
        if choice["type"] == "tool" and choice.get("name") not in names:
            return err("tool_choice.name: Tool not found")
        if choice["type"] == "none" and "disable_parallel_tool_use" in choice:
            return err("tool_choice.none: Extra inputs are not permitted")
    thinking = body.get("thinking")
    if thinking is not None:
        budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
        if thinking.get("type") != "enabled" or not isinstance(budget, int) or budget < 1024:
            return err("thinking.budget_tokens: Input should be greater than or equal to 1024")
        if "max_tokens" in body and body["max_tokens"] <= budget:
            return err("`max_tokens` must be greater than `thinking.budget_tokens`")
        if "temperature" in body or "top_p" in body and body["top_p"] < 0.95:
            return err("temperature may only be set to 1 when thinking is enabled")
        if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
            return err("Thinking may not be enabled when tool_choice forces tool use.")
    pending = set()       # tool_use ids of the last assistant turn
    seen = set()
    for i, m in enumerate(body["messages"]):
        content = m.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list) or not content:
            return err("messages.%d.content: must not be empty" % i)
        results = set()
        text_seen = False
        for j, b in enumerate(content):
            where = "messages.%d.content.%d" % (i, j)
            t = b.get("type") if isinstance(b, dict) else None
            if t == "text":
                if not isinstance(b.get("text"), str) or not b["text"]:
                    return err(where + ": text content blocks must be non-empty")
                text_seen = True
            elif t == "image":
                src = b.get("source") or {}
                if src.get("type") == "base64":
                    if src.get("media_type") not in ("image/jpeg", "image/png", "image/gif", "image/webp") \
                            or not isinstance(src.get("data"), str):
                        return err(where + ".source: invalid base64 image source")
                elif src.get("type") != "url" or not re.match(r"https?://", src.get("url", "")):
                    return err(where + ".source: invalid image source")
                text_seen = True
            elif t == "tool_use":
                if m["role"] != "assistant":
                    return err(where + ": tool_use blocks may only appear in assistant messages")
                if not isinstance(b.get("input"), dict) or not isinstance(b.get("id"), str):
                    return err(where + ".input: Input should be a valid dictionary")
                if b["id"] in seen:
                    return err(where + ": tool_use ids must be unique")
                if b.get("name") not in names:
                    return err(where + ": Requests which include `tool_use` or "
                               "`tool_result` blocks must define tools.")
                seen.add(b["id"])
            elif t in ("thinking", "redacted_thinking"):
                if m["role"] != "assistant":
                    return err(where + ": thinking blocks may only appear in assistant messages")
                if t == "thinking" and (not isinstance(b.get("signature"), str)
                                        or not b["signature"]):
                    return err(where + ".signature: Field required")
            elif t in ("document", "search_result"):
                if m["role"] != "user":
                    return err(where + ": %s blocks may only appear in user messages" % t)
            elif t in ("server_tool_use", "web_search_tool_result"):
                if m["role"] != "assistant":
                    return err(where + ": %s blocks may only appear in assistant messages" % t)
            elif t == "tool_result":
                if m["role"] != "user":
                    return err(where + ": tool_result blocks may only appear in user messages")
                if text_seen:
                    return err(where + ": tool_result blocks must come first in the content")
                if b.get("tool_use_id") not in pending:
                    return err(where + ": unexpected `tool_use_id` found in `tool_result` "
                               "blocks: %s. Each `tool_result` block must have a "
                               "corresponding `tool_use` block in the previous message."
                               % b.get("tool_use_id"))
                results.add(b["tool_use_id"])
            else:
                return err(where + ".type: unknown content block type %r" % t)
        if m["role"] == "user":
            if pending - results:
                return err("messages.%d: `tool_use` ids were found without `tool_result` "
                           "blocks immediately after: %s" % (i - 1, ", ".join(sorted(pending - results))))
            pending = set()
        else:
            pending = {b["id"] for b in content if b.get("type") == "tool_use"}
    return None

class Reply:
    """What to send: status, headers and the body as a list of events."""

    def __init__(self, status, ctype, events, is_stream):
        self.status = status
        self.ctype = ctype
        self.events = events
        self.is_stream = is_stream


# --------------------------------------------------------------------------
# The request handler

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "llm-mock/1.0"
    timeout = None  # keep idle keep-alive connections until the peer closes

    # ---- connection lifecycle

    def setup(self):
        self.conn_id = STATE.next_conn_id()
        self.requests_on_conn = 0
        self.close_by = None
        self.close_reason = None
        self.sni = None
        self.tls = STATE.tls_context is not None
        if self.tls:
            # Handshake in this connection's thread, not in the accept loop.
            try:
                self.request = STATE.tls_context.wrap_socket(self.request, server_side=True)
            except (OSError, ssl.SSLError) as e:
                STATE.log({"event": "close", "conn": self.conn_id, "by": "client",
                           "reason": "tls handshake failed: %s" % e, "requests": 0})
                raise
            self.sni = getattr(self.request, "sni_name", None)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            if self.tls:
                self.request.close()  # the server only closes the plain socket

    def closed_by(self, who, reason):
        """Remember the first reason the connection ended."""
        if self.close_by is None:
            self.close_by = who
            self.close_reason = reason

    def handle(self):
        try:
            self.close_connection = True
            self.handle_one_request()
            while not self.close_connection:
                self.handle_one_request()
        except ClientGone as e:
            self.closed_by("client", str(e))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError,
                ssl.SSLZeroReturnError) as e:
            self.closed_by("client", type(e).__name__)
        except Exception as e:  # never let one connection kill the mock
            sys.stderr.write("conn %d: exception\n%s" % (self.conn_id, traceback.format_exc()))
            self.closed_by("server", "exception: %s" % e)
        finally:
            self.closed_by("server", "connection: close")
            STATE.log({"event": "close", "conn": self.conn_id, "by": self.close_by,
                       "reason": self.close_reason, "requests": self.requests_on_conn})

    def handle_one_request(self):
        self.raw_requestline = b"?"
        super().handle_one_request()
        if not self.raw_requestline:
            self.closed_by("client", "eof")

    # ---- reading the request

    def read_exact(self, n):
        data = self.rfile.read(n)
        if len(data) < n:
            raise ClientGone("eof in request body")
        return data

    def read_body(self):
        """The request body (Content-Length or chunked), or None if malformed."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ClientGone("eof in chunked request body")
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    break
                data += self.read_exact(size)
                self.rfile.readline()  # CRLF after the chunk data
            while True:  # trailer section up to the blank line
                line = self.rfile.readline(65537)
                if line in (b"\r\n", b"\n", b""):
                    break
            return bytes(data)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        return self.read_exact(length)

    def record_request(self, n, body):
        headers = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = headers[name] + ", " + value if name in headers else value
        record = {"n": n, "conn": self.conn_id, "method": self.command,
                  "path": self.path, "headers": headers, "body": body}
        if self.tls and self.requests_on_conn == 0:
            record["sni"] = self.sni
        self.requests_on_conn += 1
        STATE.log(record)

    def key_ok(self):
        """--key: Bearer (OpenAI style); x-api-key / x-goog-api-key also accepted."""
        if not STATE.key:
            return True
        return (self.headers.get("Authorization", "") == "Bearer " + STATE.key
                or self.headers.get("x-api-key") == STATE.key
                or self.headers.get("x-goog-api-key") == STATE.key)

    # ---- peer-close detection

    def peer_closed(self, timeout):
        """Wait up to timeout seconds; True if the peer closed the connection."""
        sock = self.connection
        if self.tls and sock.pending():
            time.sleep(timeout)
            return False
        readable, _, _ = select.select([sock], [], [], timeout)
        if not readable:
            return False
        try:
            if self.tls:
                sock.settimeout(0)
                try:
                    data = sock.recv(1)  # TLS cannot peek; data here is unexpected
                finally:
                    sock.settimeout(None)
            else:
                data = sock.recv(1, socket.MSG_PEEK)
        except ssl.SSLWantReadError:
            return False
        except (ConnectionResetError, ssl.SSLError, OSError):
            return True
        if data == b"":
            return True
        time.sleep(timeout)  # unexpected early data (pipelining): just sleep
        return False

    def pause(self, ms, reason="eof while streaming"):
        """Sleep ms milliseconds, noticing promptly if the peer goes away."""
        deadline = time.monotonic() + ms / 1000.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self.peer_closed(min(left, 0.5)):
                raise ClientGone(reason)

    # ---- writing responses

    def send_json(self, status, obj, extra_headers=()):
        data = compact(obj)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def send_reply(self, reply, opts):
        """Send a Reply, applying the framing/timing options of the scenario."""
        events = list(reply.events)
        full_length = sum(len(e) for e in events)
        te = opts.get("te")
        if not te:  # HTTP/1.0 clients cannot take chunked: close-delimit instead
            chunked_ok = self.request_version == "HTTP/1.1"
            te = ("chunked" if chunked_ok else "close") if reply.is_stream else "length"
        delay = int(opts.get("delay_ms", 0))
        cut = "cut_after" in opts
        if cut:
            events = events[:int(opts["cut_after"])]
        comments = int(opts.get("keepalive_comments", 0))
        events = [b": keep-alive\n\n"] * comments + events
        if comments:
            full_length += comments * len(b": keep-alive\n\n")
        if opts.get("split"):
            size = max(1, int(opts["split"]))
            data = b"".join(events)
            events = [data[i:i + size] for i in range(0, len(data), size)]

        self.send_response(int(opts.get("status", reply.status)))
        self.send_header("Content-Type", opts.get("ctype", reply.ctype))
        if "retry_after" in opts:
            self.send_header("Retry-After", str(opts["retry_after"]))
        if "retry_after_ms" in opts:
            self.send_header("retry-after-ms", str(opts["retry_after_ms"]))
        reset = int(opts.get("rl_reset", 6))
        if "rl_requests" in opts or "rl_tokens" in opts:
            self.send_header("x-ratelimit-limit-requests", "100")
            self.send_header("x-ratelimit-remaining-requests",
                             str(opts.get("rl_requests", 99)))
            self.send_header("x-ratelimit-reset-requests",
                             opts.get("rl_reset_raw", "%ds" % reset))
            self.send_header("x-ratelimit-limit-tokens", "160000")
            self.send_header("x-ratelimit-remaining-tokens",
                             str(opts.get("rl_tokens", 150000)))
            self.send_header("x-ratelimit-reset-tokens",
                             opts.get("rl_reset_raw", "%ds" % reset))
        if "anthropic_rl" in opts:
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + reset))
            for fam, lim, left in (("requests", 50, opts["anthropic_rl"]),
                                   ("tokens", 96000, 96000),
                                   ("input-tokens", 80000, 80000),
                                   ("output-tokens", 16000, 16000)):
                self.send_header("anthropic-ratelimit-%s-limit" % fam, str(lim))
                self.send_header("anthropic-ratelimit-%s-remaining" % fam, str(left))
                self.send_header("anthropic-ratelimit-%s-reset" % fam,
                                 opts.get("rl_reset_raw", at))
        if reply.is_stream:
            self.send_header("Cache-Control", "no-cache")
        if te == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        elif te == "length":
            self.send_header("Content-Length",
                             str(full_length + int(opts.get("short_by", 0))))
        else:
            self.send_header("Connection", "close")
        self.end_headers()

        stall = int(opts["stall_after"]) if "stall_after" in opts else -1
        for i, event in enumerate(events):
            if i == stall:
                self.pause(3600 * 1000, "eof while stalled")
                return
            if delay:
                self.pause(delay)
            elif self.peer_closed(0):
                raise ClientGone("eof while streaming")
            if te == "chunked":
                self.wfile.write(b"%x\r\n" % len(event) + event + b"\r\n")
            else:
                self.wfile.write(event)
            if opts.get("bad_chunked") and i == 0:
                self.wfile.write(b"zz\r\n")
                self.close_connection = True
                self.closed_by("server", "bad_chunked")
                return

        if cut or "short_by" in opts:
            self.close_connection = True
            self.closed_by("server", "cut_after" if cut else "short_by")
            return
        if te == "chunked":
            self.wfile.write(b"0\r\n\r\n")
        elif te == "close":
            self.close_connection = True
            self.closed_by("server", "te=close")

    # ---- building replies

    def fixture_reply(self, rel, opts):
        path = os.path.normpath(os.path.join(STATE.fixtures, rel))
        if not path.startswith(STATE.fixtures + os.sep) or not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            data = f.read()
        status, ctype = 200, None
        if os.path.isfile(path + ".meta.json"):
            with open(path + ".meta.json", encoding="utf-8") as f:
                meta = json.load(f)
            st = meta.get("response", {}).get("status", 200)
            status = st.get("code", 200) if isinstance(st, dict) else int(st)
            ct = meta.get("response", {}).get("headers", {}).get("content-type")
            ctype = ct[0] if isinstance(ct, list) and ct else ct
        if rel.endswith(".sse"):
            return Reply(status, ctype or "text/event-stream", split_sse_events(data), True)
        if rel.endswith(".jsonl"):
            provider = rel.split("/")[0]
            default = {"anthropic": "anthropic", "google": "gemini"}.get(provider, "openai")
            framing = opts.get("framing", default)
            return Reply(status, ctype or "text/event-stream", frame_jsonl(data, framing), True)
        if rel.endswith(".json"):
            return Reply(status, ctype or "application/json", [data], False)
        return Reply(status, ctype or "application/octet-stream", [data], False)

    def text_reply(self, n, body, model, text, pieces, is_stream):
        """A chat.completion (or its stream) whose content is text."""
        cid = "chatcmpl-mock%d" % n
        prompt = prompt_word_count(body)
        if is_stream:
            events = stream_events(cid, model, pieces, wants_usage(body), prompt)
            return Reply(200, "text/event-stream", events, True)
        obj = chat_completion(cid, model, text, usage_block(prompt, words(text)))
        return Reply(200, "application/json", [compact(obj)], False)

    def demo_reply(self, n, body, model):
        if re.search(r"/responses(\?|$)", self.path):
            said = responses_input_text(body)[:200]
            text = ('Hello! I am the demo model behind ngx_http_llm_module. '
                    'You said: "%s"' % said)
            return responses_reply(n, model, text, words(said),
                                   isinstance(body, dict) and body.get("stream") is True,
                                   "fail" in model)
        said = last_user_text(body)
        anthropic = re.search(r"/messages(\?|$)", self.path) is not None
        gemini = re.search(r":(stream)?[gG]enerateContent(\?|$)", self.path) is not None
        if gemini:
            contents = body.get("contents", []) if isinstance(body, dict) else []
            said = " ".join(p.get("text", "") for p in contents[-1].get("parts", [])
                            if isinstance(p, dict) and isinstance(p.get("text"), str)) \
                if contents else ""
        if anthropic:
            msgs = [m for m in body.get("messages", []) if isinstance(m, dict)]
            said = anthropic_text(msgs[-1].get("content", "")) if msgs else ""
        if len(said) > 200:
            said = said[:200] + "..."
        text = ('Hello! I am the demo model behind ngx_http_llm_module. '
                'You said: "%s"' % said)
        pieces = re.findall(r"\S+\s*", text)  # one chunk per word
        is_stream = isinstance(body, dict) and body.get("stream") is True
        if gemini:
            prompt = sum(words(p.get("text", "")) for c in body.get("contents", [])
                         for p in c.get("parts", [])
                         if isinstance(p, dict) and isinstance(p.get("text"), str))
            return gemini_reply(n, model, pieces, prompt, "streamGenerate" in self.path)
        if anthropic:
            mid, tokens = "msg_mock%d" % n, anthropic_input_tokens(body)
            if is_stream:
                return Reply(200, "text/event-stream",
                             anthropic_reply_events(mid, model, text, tokens), True)
            return Reply(200, "application/json",
                         [compact(anthropic_message(mid, model, text, tokens))], False)
        return self.text_reply(n, body, model, text, pieces, is_stream)

    def scenario_reply(self, n, body, raw_text, opts):
        """The Reply for a scenario, or None if it already answered."""
        is_stream_req = isinstance(body, dict) and body.get("stream") is True
        status = int(opts.get("status", 200))
        if "body" in opts:
            text = opts["body"]
            data = text.encode()
            if opts.get("raw"):
                data = re.sub(rb"\\x([0-9a-fA-F]{2})",
                              lambda m: bytes([int(m.group(1), 16)]), data)
            if text.startswith("data:"):
                return Reply(status, "text/event-stream", [data], True)
            return Reply(status, guess_ctype(text), [data], False)
        if "fixture" in opts:
            reply = self.fixture_reply(opts["fixture"], opts)
            if reply is None:
                sys.stderr.write("fixture not found: %s\n" % opts["fixture"])
                self.send_json(500, error_body("mock: fixture not found: " + opts["fixture"],
                                               "server_error"))
                return None
            return reply
        if "error_event" in opts:
            # a 200 stream whose first event is an in-band error (OpenAI's
            # shape; status_code as some compatible servers send it)
            err = {"error": {"message": "mock in-band error", "type": "server_error",
                             "code": "overloaded",
                             "status_code": int(opts["error_event"])}}
            return Reply(200, "text/event-stream", [sse(err)], True)
        if "events" in opts:
            texts = ["tok%d " % i for i in range(int(opts["events"]))]
            return self.text_reply(n, body, UPSTREAM_MODEL, "".join(texts), texts, True)
        if opts.get("echo"):
            return self.text_reply(n, body, UPSTREAM_MODEL, raw_text, [raw_text], is_stream_req)
        if opts.get("echo_key"):
            # as OpenAI did once: the key it was sent, in its error
            key = (self.headers.get("Authorization") or "").replace("Bearer ", "")
            return Reply(401, "application/json", [compact(error_body(
                "Incorrect API key provided: %s. Check it." % key,
                code="invalid_api_key"))], False)
        if opts.get("bad_sse"):
            cid = "chatcmpl-mock%d" % n
            good = sse(chunk(cid, UPSTREAM_MODEL, {"role": "assistant", "content": "ok"}))
            return Reply(200, "text/event-stream", [good, b"data: {not json\n\n", DONE], True)
        if status >= 400:
            etype, code = "invalid_request_error", None
            if status == 429:
                etype, code = "rate_limit_error", "rate_limit_exceeded"
            elif status >= 500:
                etype = "server_error"
            obj = error_body("mock error (HTTP %d)" % status, etype, None, code)
            return Reply(status, "application/json", [compact(obj)], False)
        model = body.get("model") if isinstance(body, dict) else None
        return self.demo_reply(n, body, model or UPSTREAM_MODEL)

    def native_request_problem(self, body):
        """Strict checks of the native Anthropic / Gemini request, as those
        APIs reject them: the error body in the provider's own shape, or None."""
        count = re.search(r"/messages/count_tokens(\?|$)", self.path) is not None
        if count or re.search(r"/messages(\?|$)", self.path):
            def err(msg):
                return {"type": "error", "error": {"type": "invalid_request_error",
                                                   "message": msg}}
            if not isinstance(body, dict):
                return err("body must be an object")
            if not isinstance(body.get("model"), str):
                return err("model: Field required")
            if count:
                extra = set(body) - {"model", "messages", "system", "tools", "tool_choice",
                                     "thinking", "output_config", "cache_control",
                                     "mcp_servers"}
                if extra:
                    return err("%s: Extra inputs are not permitted" % sorted(extra)[0])
            elif not isinstance(body.get("max_tokens"), int):
                return err("max_tokens: Field required")
            msgs = body.get("messages")
            if not isinstance(msgs, list) or not msgs:
                return err("messages: at least one message is required")
            prev = None
            for i, m in enumerate(msgs):
                role = m.get("role") if isinstance(m, dict) else None
                if role not in ("user", "assistant"):
                    return err("messages.%d.role: Input should be 'user' or 'assistant'" % i)
                if role == prev:
                    return err("messages: roles must alternate between \"user\" and \"assistant\"")
                prev = role
            if msgs[0].get("role") != "user":
                return err("messages: first message must use the \"user\" role")
            return anthropic_tools_problem(body, err)
        if re.search(r":(stream)?[gG]enerateContent(\?|$)", self.path):
            def gerr(msg):
                return {"error": {"code": 400, "message": msg, "status": "INVALID_ARGUMENT"}}
            if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
                return gerr("contents is required")
            for i, c in enumerate(body["contents"]):
                if not isinstance(c, dict) or c.get("role") not in ("user", "model"):
                    return gerr("Please use a valid role: user, model.")
                if not isinstance(c.get("parts"), list) or not c["parts"]:
                    return gerr("contents.%d.parts must not be empty" % i)
            return gemini_tool_problem(body, parse_scenario(self.scenario_name(body)))
        if re.search(r"/chat/completions(\?|$)", self.path):
            return openai_tools_problem(body)
        return None

    # ---- embeddings

    def embed_kind(self):
        if re.search(r":batchEmbedContents(\?|$)", self.path):
            return "gemini"
        if re.search(r"/embeddings(\?|$)", self.path):
            return "voyage" if self.path.startswith("/voyage/") else "openai"
        return None

    @staticmethod
    def embed_inputs(kind, body):
        if kind == "gemini":
            return [r["content"]["parts"][0]["text"] for r in body["requests"]]
        inp = body["input"]
        return [inp] if isinstance(inp, str) or (
            isinstance(inp, list) and inp and isinstance(inp[0], int)) else inp

    def embed_request_problem(self, kind, body):
        """The provider's own 400 body for a bad embeddings request, or None."""
        if kind == "gemini":
            def gerr(msg):
                return {"error": {"code": 400, "message": msg, "status": "INVALID_ARGUMENT"}}
            m = re.search(r"/models/(.+):batchEmbedContents", self.path)
            want = "models/" + unquote(m.group(1)) if m else None
            if not isinstance(body, dict) or set(body) != {"requests"}:
                return gerr("Invalid JSON payload: only 'requests' expected")
            reqs = body["requests"]
            if not isinstance(reqs, list) or not reqs:
                return gerr("requests must not be empty")
            if len(reqs) > 100:
                return gerr("* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch")
            for i, r in enumerate(reqs):
                if not isinstance(r, dict) or r.get("model") != want:
                    return gerr("requests[%d].model: must be %s" % (i, want))
                if set(r) - {"model", "content", "taskType", "title", "outputDimensionality"}:
                    return gerr("requests[%d]: unknown field" % i)
                parts = (r.get("content") or {}).get("parts")
                if (not isinstance(parts, list) or len(parts) != 1
                        or not isinstance(parts[0].get("text"), str)):
                    return gerr("requests[%d].content.parts: one text part expected" % i)
                if "taskType" in r and r["taskType"] not in (
                        "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY",
                        "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING",
                        "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"):
                    return gerr("requests[%d].taskType: invalid value" % i)
                if "outputDimensionality" in r and not (
                        isinstance(r["outputDimensionality"], int) and r["outputDimensionality"] > 0):
                    return gerr("requests[%d].outputDimensionality: invalid" % i)
            return None
        if kind == "voyage":
            def verr(msg):
                return {"detail": msg}
            if not isinstance(body, dict):
                return verr("body must be an object")
            extra = set(body) - {"input", "model", "input_type", "truncation",
                                 "output_dimension", "output_dtype", "encoding_format"}
            if extra:
                return verr("Unexpected fields: %s" % ", ".join(sorted(extra)))
            inp = body.get("input")
            if isinstance(inp, str):
                inp = [inp]
            if (not isinstance(inp, list) or not inp
                    or not all(isinstance(x, str) for x in inp)):
                return verr("input: a string or a list of strings is required")
            if len(inp) > 1000:
                return verr("The input list can have at most 1000 items")
            if body.get("input_type") not in (None, "query", "document"):
                return verr("input_type must be query, document or null")
            od = body.get("output_dimension")
            if od is not None and not (isinstance(od, int) and od > 0):
                return verr("output_dimension must be a positive integer")
            return None
        # openai
        if not isinstance(body, dict):
            return error_body("body must be an object")
        extra = set(body) - {"model", "input", "encoding_format", "dimensions", "user"}
        if extra:
            return error_body("Unrecognized request argument supplied: %s"
                              % ", ".join(sorted(extra)))
        if not isinstance(body.get("model"), str):
            return error_body("you must provide a model parameter", param="model")
        inp = body.get("input")
        ok = (isinstance(inp, str) and inp) or (
            isinstance(inp, list) and inp and (
                all(isinstance(x, str) and x for x in inp)
                or all(isinstance(x, int) for x in inp)
                or all(isinstance(x, list) and x and all(isinstance(y, int) for y in x)
                       for x in inp)))
        if not ok:
            return error_body("'input' is invalid", param="input")
        if len(inp) > 2048 and isinstance(inp, list):
            return error_body("'input' : maximum 2048 inputs", param="input")
        if body.get("encoding_format") not in (None, "float", "base64"):
            return error_body("encoding_format must be float or base64",
                              param="encoding_format")
        dims = body.get("dimensions")
        if dims is not None and not (isinstance(dims, int) and dims > 0):
            return error_body("dimensions must be a positive integer", param="dimensions")
        return None

    def send_embed(self, kind, body, opts):
        import base64 as b64
        import struct
        inputs = self.embed_inputs(kind, body)
        if "max_inputs" in opts and len(inputs) > int(opts["max_inputs"]):
            msg = "mock: %d inputs, at most %s" % (len(inputs), opts["max_inputs"])
            if kind == "voyage":
                self.send_json(400, {"detail": msg})
            elif kind == "gemini":
                self.send_json(400, {"error": {"code": 400, "message": msg,
                                               "status": "INVALID_ARGUMENT"}})
            else:
                self.send_json(400, error_body(msg, param="input"))
            return
        if "hang_text" in opts and opts["hang_text"] in inputs:
            while True:  # until the peer closes; pause() raises ClientGone
                self.pause(3600 * 1000, "eof while hanging")
        if "fail_text" in opts and opts["fail_text"] in inputs:
            self.send_json(500, error_body("mock: input %r fails" % opts["fail_text"],
                                           "server_error"))
            return
        if kind == "gemini":
            dims = body["requests"][0].get("outputDimensionality") or 4
        elif kind == "voyage":
            dims = body.get("output_dimension") or 4
        else:
            dims = body.get("dimensions") or 4
        vectors = []
        for t in inputs:
            raw = t.encode() if isinstance(t, str) else bytes(x % 256 for x in t)
            v = [float(len(raw)), float(sum(raw) % 997), 0.5, -0.25]
            v = (v + [0.0] * dims)[:dims]
            vectors.append(v)
        want_b64 = opts.get("base64") or body.get("encoding_format") == "base64"
        if want_b64 and kind != "gemini":
            vectors = [b64.b64encode(struct.pack("<%df" % len(v), *v)).decode()
                       for v in vectors]
        words_n = sum(len(t.split()) if isinstance(t, str) else len(t) for t in inputs)
        if kind == "gemini":
            self.send_json(200, {"embeddings": [{"values": v} for v in vectors]})
            return
        data = [{"object": "embedding", "embedding": v, "index": i}
                for i, v in enumerate(vectors)]
        if kind == "voyage":
            usage = {"total_tokens": words_n}
        else:
            usage = {"prompt_tokens": words_n, "total_tokens": words_n}
        self.send_json(200, {"object": "list", "data": data, "model": body.get("model"),
                             "usage": usage})

    def scenario_name(self, body):
        """The model field, or for Gemini-style URLs the /models/<name>:method part."""
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            return body["model"]
        m = re.search(r"/models/(.+):\w+(\?.*)?$", self.path)
        return unquote(m.group(1)) if m else ""

    # ---- HTTP methods

    def do_POST(self):
        n = STATE.next_request_id()
        raw = self.read_body()
        if raw is None:
            self.record_request(n, None)
            self.send_error(400, "bad request body framing")
            return
        raw_text = raw.decode("utf-8", "replace")
        body, parsed = None, False
        try:
            body = json.loads(raw_text, parse_constant=self._reject_constant)
            parsed = True
        except ValueError:
            pass
        self.record_request(n, body if parsed else (raw_text if raw else None))

        if not self.key_ok():
            self.send_json(401, error_body("Incorrect API key provided",
                                           code="invalid_api_key"))
            return
        if not parsed:
            self.send_json(400, error_body(
                "We could not parse the JSON body of your request. (HINT: This likely "
                "means you aren't using your HTTP library correctly.)"))
            return
        problem = self.native_request_problem(body)
        if problem:
            self.send_json(400, problem)
            return
        kind = self.embed_kind()
        if kind:
            problem = self.embed_request_problem(kind, body)
            if problem:
                self.send_json(400, problem)
                return
        if re.search(r"/(chat/completions|messages)(\?|$)", self.path):
            if not isinstance(body, dict) or not isinstance(body.get("model"), str):
                self.send_json(400, error_body("you must provide a model parameter",
                                               param="model"))
                return
            if not isinstance(body.get("messages"), list):
                self.send_json(400, error_body("Missing required parameter: 'messages'.",
                                               param="messages",
                                               code="missing_required_parameter"))
                return

        name = self.scenario_name(body)
        if re.search(r"/messages/count_tokens(\?|$)", self.path) and "=" not in name:
            self.send_json(200, {"input_tokens": anthropic_input_tokens(body)})
            return
        if kind and "=" not in name:
            self.send_embed(kind, body, {})
            return
        if STATE.demo or "=" not in name:
            reply = self.demo_reply(n, body, name or UPSTREAM_MODEL)
            self.send_reply(reply, {"delay_ms": DEMO_WORD_DELAY_MS} if reply.is_stream else {})
            return

        opts = parse_scenario(name)
        index = STATE.seq_next(opts.pop("id", name))
        if "seq" in opts:
            opts = seq_step(index, opts)
        problem = scenario_error(opts)
        if problem:
            sys.stderr.write("bad scenario %r: %s\n" % (name, problem))
            self.send_json(400, error_body("mock: " + problem, code="mock_bad_scenario"))
            return
        for key in INT_KEYS & opts.keys():  # so that e.g. hang=0 is false
            opts[key] = int(opts[key])
        if opts.get("header_delay_ms"):
            self.pause(int(opts["header_delay_ms"]))
        if opts.get("hang"):
            while True:  # until the peer closes; pause() raises ClientGone
                self.pause(3600 * 1000, "eof while hanging")
        if kind and not {"fixture", "body", "status"} & opts.keys():
            self.send_embed(kind, body, opts)
            return
        reply = self.scenario_reply(n, body, raw_text, opts)
        if reply is not None:
            self.send_reply(reply, opts)

    @staticmethod
    def _reject_constant(name):
        raise ValueError("invalid JSON constant " + name)

    def do_GET(self):
        if self.path.startswith("/__requests"):
            m = re.search(r"[?&]key=([^&]*)", self.path)
            key = unquote(m.group(1)) if m else ""
            self.send_json(200, {"count": STATE.seq_count(key)})
            return
        n = STATE.next_request_id()
        self.record_request(n, None)
        if not self.key_ok():
            self.send_json(401, error_body("Incorrect API key provided",
                                           code="invalid_api_key"))
            return
        if self.path.split("?")[0].rstrip("/").endswith("/models"):
            self.send_json(200, {"object": "list", "data": []})
            return
        self.send_json(404, error_body("Unknown request URL: GET %s" % self.path,
                                       code="unknown_url"))


class MockServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def server_bind(self):
        # Skip HTTPServer's getfqdn() reverse lookup: it can be slow.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main():
    global STATE
    ap = argparse.ArgumentParser(description="mock OpenAI-compatible provider")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--log")
    ap.add_argument("--fixtures", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
    ap.add_argument("--key")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--demo", action="store_true")
    args = ap.parse_args()

    STATE = MockState(args.log, args.fixtures, args.key, args.demo)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)

        def remember_sni(sslsock, server_name, context):
            sslsock.sni_name = server_name

        ctx.sni_callback = remember_sni
        STATE.tls_context = ctx

    server = MockServer((args.host, args.port), Handler)
    host, port = server.server_address[:2]
    sys.stderr.write("listening on %s:%d\n" % (host, port))
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
