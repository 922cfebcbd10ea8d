#!/usr/bin/env python3
"""The request bodies of bench/agent.sh, in OpenAI's Chat Completions form.

    python3 bench/agent_bodies.py DIR MODEL

writes, the same on every run (a fixed seed):

  DIR/conversation.json  a long text conversation: a system prompt and 105
                         turns, some 206 KB (a chat with a long history)
  DIR/agent.json         an agent's turn: a system prompt, 8 tools with
                         JSON schemas, and 60 messages of assistant tool
                         calls, tool results and user turns, some 100 KB
                         (what coding assistants send every turn)
"""

import json
import random
import sys

WORDS = ("the gateway routes each request to a provider and streams the "
         "answer back token by token while it counts usage and keeps the "
         "budget of every key in shared memory so that no worker blocks "
         "on the network and every failure gets a clear answer function "
         "returns value error file path line column test build module "
         "request response header body stream event json schema tool "
         "call result cache limit window deadline retry fallback").split()


def text(rng, size):
    out = []
    n = 0
    while n < size:
        w = rng.choice(WORDS)
        out.append(w)
        n += len(w) + 1
    s = " ".join(out)
    # some characters that need escaping, as real text has
    return s[:size - 12] + ' "quoted"\n\t'


def conversation(model, rng):
    msgs = [{"role": "system", "content": text(rng, 1500)}]
    for i in range(105):
        role = "user" if i % 2 == 0 else "assistant"
        msgs.append({"role": role, "content": text(rng, 1940)})
    return {"model": model, "messages": msgs, "max_tokens": 256,
            "temperature": 0.2}


TOOLS = [
    ("read_file", "Read a file of the repository.",
     {"path": "string", "start_line": "integer", "end_line": "integer"}),
    ("write_file", "Write a file of the repository.",
     {"path": "string", "content": "string"}),
    ("run_command", "Run a shell command in the sandbox.",
     {"command": "string", "timeout_seconds": "integer"}),
    ("search_code", "Search the repository for a pattern.",
     {"pattern": "string", "glob": "string", "max_results": "integer"}),
    ("list_dir", "List a directory.",
     {"path": "string", "depth": "integer"}),
    ("apply_patch", "Apply a unified diff.",
     {"patch": "string"}),
    ("web_fetch", "Fetch a web page as text.",
     {"url": "string", "max_bytes": "integer"}),
    ("ask_user", "Ask the user a question.",
     {"question": "string", "options": "array"}),
]


def tool_defs():
    tools = []
    for name, desc, props in TOOLS:
        p = {}
        for k, t in props.items():
            if t == "array":
                p[k] = {"type": "array", "items": {"type": "string"},
                        "description": "The choices offered."}
            else:
                p[k] = {"type": t, "description": "The %s." %
                        k.replace("_", " ")}
        tools.append({"type": "function", "function": {
            "name": name, "description": desc,
            "parameters": {"type": "object", "properties": p,
                           "required": [next(iter(props))],
                           "additionalProperties": False}}})
    return tools


def agent(model, rng):
    msgs = [{"role": "system", "content": text(rng, 4000)},
            {"role": "user", "content": text(rng, 600)}]
    call = 0
    while len(msgs) < 59:
        calls = []
        for _ in range(1 + (call % 3 == 0)):
            call += 1
            name = TOOLS[call % len(TOOLS)][0]
            args = {"path": "src/module_%d.c" % call,
                    "start_line": call, "end_line": call + 80}
            calls.append({"id": "call_%024d" % call, "type": "function",
                          "function": {"name": name,
                                       "arguments": json.dumps(args)}})
        msgs.append({"role": "assistant", "content": None,
                     "tool_calls": calls})
        for c in calls:
            msgs.append({"role": "tool", "tool_call_id": c["id"],
                         "content": text(rng, 2400)})
        if len(msgs) % 9 == 0:
            msgs.append({"role": "assistant", "content": text(rng, 300)})
            msgs.append({"role": "user", "content": text(rng, 200)})
    msgs = msgs[:59]
    while msgs[-1]["role"] == "assistant":
        msgs.pop()
    msgs.append({"role": "user", "content": "Go on."})
    return {"model": model, "messages": msgs, "tools": tool_defs(),
            "tool_choice": "auto", "max_tokens": 1024}


def main():
    out, model = sys.argv[1], sys.argv[2]
    for name, make in (("conversation", conversation), ("agent", agent)):
        body = make(model, random.Random(name))
        with open("%s/%s.json" % (out, name), "w") as f:
            json.dump(body, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
