"""A local OpenAI-style chat server on 127.0.0.1 that misbehaves on request (for the client's error paths)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeChatServer:
    """Answers ``POST /v1/chat/completions`` following a plan per prompt (the last user text).

    Behaviours: ``ok``, ``500``, ``400``, ``garbage`` (not JSON), ``missing`` (no token ids), ``short`` (fewer
    log-probs than tokens), ``hang`` (answers after ``hang_s``), ``close`` (drops the connection).
    Each request of a prompt takes the next behaviour of its plan; the last one repeats.
    """

    def __init__(self, plan=None, prompt_ids=None, hang_s=2.0):
        self.plan = {k: list(v) for k, v in (plan or {}).items()}
        self.prompt_ids = prompt_ids or {}
        self.hang_s = hang_s
        self.log: list[tuple[str, str]] = []  # (prompt, behaviour)
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                self._send(200, json.dumps({"object": "list", "data": [{"id": "fake-model"}]}))

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.handle(self, body)

            def _send(self, status, text):
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def behaviour(self, prompt: str) -> str:
        with self.lock:
            steps = self.plan.get(prompt, ["ok"])
            b = steps.pop(0) if len(steps) > 1 else steps[0]
            self.log.append((prompt, b))
            return b

    def completion(self, body: dict, prompt: str, short: bool = False) -> dict:
        n = min(body["max_tokens"], 3)
        ids = [100 + i for i in range(n)]
        logprobs = [{"token": f"t{i}", "logprob": -0.5 - i, "bytes": [], "top_logprobs": []} for i in ids]
        return {
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": f"<answer>{prompt}</answer>"},
                         "logprobs": {"content": logprobs[:-1] if short else logprobs}, "finish_reason": "length",
                         "token_ids": ids}],
            "prompt_token_ids": self.prompt_ids.get(prompt, [1, 2, 3]),
            "usage": {"prompt_tokens": 3, "completion_tokens": n, "total_tokens": 3 + n},
        }

    def handle(self, h, body):
        prompt = body["messages"][-1]["content"][-1]["text"]
        b = self.behaviour(prompt)
        if b == "hang":
            time.sleep(self.hang_s)
            b = "ok"
        if b == "close":
            h.close_connection = True
            h.connection.close()
            return
        if b in ("500", "400"):
            h._send(int(b), json.dumps({"error": f"scripted {b}"}))
        elif b == "garbage":
            h._send(200, "<html>not json")
        elif b == "missing":
            reply = self.completion(body, prompt)
            del reply["choices"][0]["token_ids"]
            h._send(200, json.dumps(reply))
        else:
            h._send(200, json.dumps(self.completion(body, prompt, short=b == "short")))
