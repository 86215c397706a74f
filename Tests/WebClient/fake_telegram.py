"""A stand-in for Telegram's Bot API, for the web client's end-to-end test.

The server talks to it exactly as to Telegram (`TELEGRAM_API_URL`): `getMe`, long-polled
`getUpdates`, `sendMessage`. The test feeds it what a Telegram user would send the bot
(`/start <token>`) and reads what the server sent (the notices with their "Open in Courier" link).
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BOT_USERNAME = "courier_e2e_bot"


class FakeTelegram:
    def __init__(self):
        self.updates = []  # what users sent the bot, as Bot API updates
        self.sent = []  # sendMessage bodies the server posted
        # (time, caller, method) of every call; the caller is the path before /bot<token>, so servers
        # given different TELEGRAM_API_URLs (…/node-a, …/node-b) can be told apart.
        self.calls = []
        self.next_update_id = 1
        self.changed = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def user_says(self, chat_id, text):
        """A Telegram user sends `text` to the bot in their private chat `chat_id`."""
        with self.changed:
            self.updates.append({
                "update_id": self.next_update_id,
                "message": {"message_id": self.next_update_id, "chat": {"id": chat_id, "type": "private"}, "text": text},
            })
            self.next_update_id += 1
            self.changed.notify_all()

    def wait_for_sent(self, predicate, timeout=20, description="a bot message"):
        """The first message the server sent that matches `predicate`, waiting for it."""
        deadline = time.time() + timeout
        with self.changed:
            while True:
                for body in self.sent:
                    if predicate(body):
                        return body
                remaining = deadline - time.time()
                if remaining <= 0:
                    raise AssertionError(f"the server sent no {description} to Telegram; it sent {self.sent}")
                self.changed.wait(remaining)

    def _answer(self, method, body):
        if method == "getMe":
            return {"id": 4242, "is_bot": True, "first_name": "Courier", "username": BOT_USERNAME}
        if method == "sendMessage":
            with self.changed:
                self.sent.append(body)
                self.changed.notify_all()
                return {"message_id": len(self.sent)}
        if method == "getUpdates":
            offset = int(body.get("offset", 0))
            # Long polling, kept short so that the server's shutdown is never held up.
            deadline = time.time() + min(float(body.get("timeout", 0)), 1.0)
            with self.changed:
                while True:
                    ready = [u for u in self.updates if u["update_id"] >= offset]
                    remaining = deadline - time.time()
                    if ready or remaining <= 0:
                        return ready
                    self.changed.wait(remaining)
        if method in ("setWebhook", "deleteWebhook"):
            return True
        return None

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the name http.server calls
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {}
                method = self.path.rstrip("/").rsplit("/", 1)[-1]
                caller = self.path.split("/bot", 1)[0].strip("/")
                with fake.changed:
                    fake.calls.append((time.time(), caller, method))
                result = fake._answer(method, body)
                if result is None:
                    payload = {"ok": False, "error_code": 404, "description": "Not Found"}
                else:
                    payload = {"ok": True, "result": result}
                data = json.dumps(payload).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server was killed mid-poll (the restart step): nothing to answer

            def log_message(self, *args):  # quiet
                pass

        return Handler
