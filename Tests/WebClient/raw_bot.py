"""A Courier bot played by hand, for the web client's end-to-end test: raw HTTP calls to the
server's Telegram-compatible Bot API (`/bot<token>/<method>`, JSON bodies), no bot library. A
thread long-polls `getUpdates` and gives each update to the test's `handle(bot, update)`, which
answers with `bot.call(...)`. What went wrong in the thread is kept in `errors` for the test to
report (an exception there would otherwise only be printed).
"""

import json
import threading
import time
import urllib.error
import urllib.request

POLL_SECONDS = 3  # long polling, but short enough that stopping never waits long


def bot_api(base, token, method, **params):
    """Calls `method` with `params` as JSON; answers the Bot API's envelope as it came
    ({"ok": true, "result": …} or {"ok": false, "error_code": …, "description": …})."""
    request = urllib.request.Request(f"{base}/bot{token}/{method}", data=json.dumps(params).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=POLL_SECONDS + 20) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return json.loads(body)
        except ValueError:
            return {"ok": False, "error_code": error.code, "description": body.decode(errors="replace")[:200]}


class RawBot(threading.Thread):
    def __init__(self, base, token, handle):
        super().__init__(name="raw-bot", daemon=True)
        self.base = base
        self.token = token
        self.handle = handle
        self.updates = []  # every update received, in order
        self.errors = []
        self.stopping = threading.Event()

    def call(self, method, **params):
        """The method's result; an envelope that is not ok raises, naming the method."""
        answer = bot_api(self.base, self.token, method, **params)
        if not answer.get("ok"):
            raise AssertionError(f"{method} {json.dumps(params)} answered {answer}")
        return answer["result"]

    def run(self):
        offset = None
        while not self.stopping.is_set():
            try:
                params = {"timeout": POLL_SECONDS, "allowed_updates": ["message", "edited_message", "callback_query", "my_chat_member"]}
                if offset is not None:
                    params["offset"] = offset
                for update in self.call("getUpdates", **params):
                    offset = update["update_id"] + 1
                    self.updates.append(update)
                    self.handle(self, update)
            except Exception as error:  # noqa: BLE001 - kept for the test to report
                if self.stopping.is_set():
                    break
                self.errors.append(f"{type(error).__name__}: {error}")
                time.sleep(0.5)

    def stop(self):
        self.stopping.set()
        self.join(timeout=POLL_SECONDS + 5)
