"""A local OpenAI-compatible chat server that answers like a hosted VLM API: text only, no token ids."""

from __future__ import annotations

import json
import threading
import time

from ..policies.fake_server import FakeChatServer


class TextChatServer(FakeChatServer):
    """Replies ``<answer>{reply}</answer>`` after ``delay_s``; keeps every request body and Authorization
    header, and the most requests it ever had in flight at once."""

    def __init__(self, reply: str = "up", delay_s: float = 0.0):
        super().__init__()
        self.reply, self.delay_s = reply, delay_s
        self.bodies: list[dict] = []
        self.auth: list[str | None] = []
        self.in_flight = self.max_in_flight = 0
        self.count_lock = threading.Lock()

    def handle(self, h, body):
        with self.count_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.bodies.append(body)
            self.auth.append(h.headers.get("Authorization"))
        try:
            time.sleep(self.delay_s)
            reply = {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": f"<answer>{self.reply}</answer>"}}],
                     "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}}
        finally:
            with self.count_lock:
                self.in_flight -= 1
        h._send(200, json.dumps(reply))
