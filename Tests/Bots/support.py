"""Helpers for the bots' end-to-end test (bots_e2e.py) and the bots it runs: images made without
any library, a person on Courier's REST API, the bot processes, and waiting with a deadline."""

import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib

WAIT = 20  # seconds for any single condition (a reply, an edit, a webhook being set)


# ------------------------------------------------------------------------------------------------
# Images and bytes


def png(width, height, seed=0):
    """A PNG (8-bit RGB) of a gradient with stripes, made here without any imaging library.
    `seed` changes the colours, so two images of one size differ."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter type 0 (none) for each scanline
        for x in range(width):
            raw += bytes(((x * 255 // width + seed) % 256, y * 255 // height, 200 if (x // 16 + y // 16) % 2 else 40))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw), 6)) + chunk(b"IEND", b"")


def image_size(data):
    """(width, height) of a PNG or a baseline/progressive JPEG, read from its header; None for
    anything else. Enough to tell that bytes are a decodable image of the size claimed."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if not data.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        # Start-of-frame markers (not DHT C4, JPG C8, DAC CC) carry the height and width.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return width, height
        at += 2 + length
    return None


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# A document whose bytes must arrive exactly (files are stored as they are, unlike photos).
DOCUMENT = ("Courier bots end-to-end test\n" + "".join(f"line {i:03d}: the quick brown fox\n" for i in range(60))).encode()


# ------------------------------------------------------------------------------------------------
# Waiting


def wait_until(probe, description, timeout=WAIT, interval=0.2):
    """Calls `probe` until it answers something truthy, and answers that; fails after `timeout`
    seconds, naming what was awaited and what the last probe said."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {description}")
        time.sleep(interval)


def wait_for_port(port, timeout=WAIT):
    def listening():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False
    wait_until(listening, f"something to listen on 127.0.0.1:{port}", timeout)


# ------------------------------------------------------------------------------------------------
# HTTP


def http(method, url, body=None, headers=None, timeout=15):
    """(status, parsed JSON or raw bytes) of one request; JSON bodies for dicts, raw for bytes.
    Never raises for an HTTP status: the tests assert on it."""
    request = urllib.request.Request(url, method=method)
    data = None
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    elif body is not None:
        data = body
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, data=data, timeout=timeout) as response:
            status, text, kind = response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        status, text, kind = error.code, error.read(), error.headers.get("Content-Type", "")
    if "json" in kind and text:
        try:
            return status, json.loads(text)
        except ValueError:
            pass
    return status, text


class Person:
    """Someone using Courier through its REST API (as the web client does)."""

    def __init__(self, server, username, phone, password="correct horse battery"):
        self.server = server
        self.username = username
        status, answer = http("POST", self.url("/auth/register"), {"phone": phone, "username": username, "password": password})
        assert status in (200, 201), f"registering {username}: {status} {answer}"
        self.token = answer.get("token") or answer["tokens"]["token"]
        self.id = answer["user"]["id"]

    def url(self, path):
        return self.server.base + "/api/v1" + path

    def call(self, method, path, body=None, expect=(200, 201, 204), headers=None):
        """Answers the JSON of a REST call, failing unless its status is in `expect`."""
        status, answer = self.call_status(method, path, body, headers)
        assert status in expect, f"{self.username}: {method} /api/v1{path} answered {status} {answer!r:.500}"
        return answer

    def call_status(self, method, path, body=None, headers=None):
        return http(method, self.url(path), body, {"Authorization": "Bearer " + self.token, **(headers or {})})

    def create_bot(self, username):
        """A new bot of this person's: (its Courier user id, its Bot API token)."""
        answer = self.call("POST", "/bots", {"username": username}, expect=(201,))
        assert answer["token"].split(":")[0].isdigit(), f"a Telegram-style token <digits>:<secret>: {answer}"
        return answer["bot"]["id"], answer["token"]

    def direct_chat(self, user_id):
        return self.call("POST", "/chats", {"type": "dm", "user_id": user_id})["id"]

    def send(self, chat_id, text, attachments=None):
        body = {"chat_id": chat_id, "content": text, "client_msg_id": f"m-{time.monotonic_ns()}"}
        if attachments:
            body["attachments"] = attachments
        return self.call("POST", "/messages", body)

    def history(self, chat_id, limit=50):
        return self.call("GET", f"/chats/{chat_id}/messages?limit={limit}")["messages"]

    def wait_for_message(self, chat_id, predicate, description, timeout=WAIT):
        """The first message in the chat's recent history that matches `predicate`, polling the
        history until one does."""
        return wait_until(lambda: next((m for m in self.history(chat_id) if predicate(m)), None),
                          f"{description} in {self.username}'s chat", timeout)

    def upload(self, data, mime_type, file_name, kind):
        """Uploads `data` through the resumable upload API (create, one PATCH, complete); answers the media."""
        upload = self.call("POST", "/uploads", {"size": len(data), "mime_type": mime_type, "file_name": file_name,
                                                "sha256": sha256(data), "kind": kind}, expect=(201,))
        self.call("PATCH", f"/uploads/{upload['id']}", data, expect=(204,),
                  headers={"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
        return self.call("POST", f"/uploads/{upload['id']}/complete", expect=(200, 201))

    def media_bytes(self, media_id, variant=None):
        path = f"/media/{media_id}/content" + (f"?variant={variant}" if variant else "")
        status, data = self.call_status("GET", path)
        assert status == 200, f"GET /api/v1{path}: {status}"
        return data


def bot_api(server, token, method, params=None):
    """A raw Bot API call (JSON body), for the test's own look-ups (getWebhookInfo); answers the envelope."""
    status, answer = http("POST", f"{server.base}/bot{token}/{method}", params or {})
    assert isinstance(answer, dict) and "ok" in answer, f"{method}: not a Bot API envelope: {status} {answer!r:.300}"
    return answer


# ------------------------------------------------------------------------------------------------
# Bot processes


class BotProcess:
    """One of the bot scripts beside this file, run as its own process the way its author would
    run it (`python bot.py`), configured by environment variables; its output goes to a log."""

    def __init__(self, script, name, output, env):
        self.name = name
        self.log_path = os.path.join(output, f"{name}.log")
        self.log = open(self.log_path, "ab")
        here = os.path.dirname(os.path.abspath(__file__))
        self.process = subprocess.Popen([sys.executable, os.path.join(here, script)], cwd=output,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self):
        return self.process.poll() is None

    def check_alive(self):
        assert self.alive(), f"the bot {self.name} exited with {self.process.returncode}:\n{self.tail()}"

    def tail(self, lines=30):
        self.log.flush()
        with open(self.log_path, "rb") as file:
            return b"\n".join(file.read().splitlines()[-lines:]).decode(errors="replace")

    def stop(self):
        """Ctrl-C, as a person stops a bot (both libraries then shut down cleanly); killed if it hangs."""
        if self.alive():
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode
