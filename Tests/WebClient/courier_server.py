"""The courier binary under test, for the Python test harnesses (the web client's e2e.py and the
API fuzzer): a free port, a throwaway data folder, the fake Telegram Bot API, start, health,
SIGKILL and restart in place, graceful stop, and a small JSON API helper."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CourierServer:
    """`courier serve` on a free port and data folder of its own; `start` again after `kill` restarts
    it in place. `extra_env` adds settings; `web_dir` serves the web client from a folder."""

    def __init__(self, binary, output, telegram_url, name="courier-test", extra_env=None, web_dir=None):
        self.binary = binary
        self.port = free_port()
        self.data_dir = tempfile.mkdtemp(prefix=name + "-")
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(output, "server.log")
        self.log = open(self.log_path, "ab")
        self.process = None
        self.env = dict(os.environ)
        for inherited in ("TELEGRAM_WEBHOOK_SECRET", "DATABASE_URL", "JWT_SECRET", "COURIER_MASTER_KEY_FILE", "COURIER_WEB_DIR"):
            self.env.pop(inherited, None)
        self.env.update(
            COURIER_PORT=str(self.port),
            COURIER_HOST="127.0.0.1",
            COURIER_DATA_DIR=self.data_dir,
            COURIER_BCRYPT_COST="4",
            LOG_LEVEL="info",
            COURIER_PUBLIC_URL=self.base,
            TELEGRAM_BOT_TOKEN=f"4242:{name}-token",
            TELEGRAM_API_URL=telegram_url,
        )
        if web_dir:
            self.env["COURIER_WEB_DIR"] = web_dir
        self.env.update(extra_env or {})

    def start(self):
        self.process = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; see {self.log_path}")
            if self.healthy():
                return
            time.sleep(0.1)
        raise RuntimeError("the server did not become healthy within 60 s")

    def healthy(self):
        try:
            with urllib.request.urlopen(self.base + "/health", timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        """Kills the server abruptly (SIGKILL), as a crash or a pulled plug would."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        """Stops the server gracefully; returns its exit status (None if it had to be killed)."""
        if self.process is None:
            return None
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def cleanup(self):
        self.stop()
        self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def api(self, method, path, body=None, token=None):
        request = urllib.request.Request(self.base + "/api/v1" + path, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", "Bearer " + token)
        data = json.dumps(body).encode() if body is not None else None
        with urllib.request.urlopen(request, data=data, timeout=10) as response:
            text = response.read()
            return json.loads(text) if text else None
