"""Two Courier nodes behind Caddy on one PostgreSQL and one Redis, attacked while they work.

Started by scripts/test (scripts/lib/multinode.sh) with the built binary, an empty PostgreSQL database
and Caddy installed. The test starts its own Redis (so that it can restart it), the fake Telegram Bot
API, Caddy with deploy/Caddyfile, and two `courier serve` nodes. Then:

1. Devices of 12 people in 4 groups connect through Caddy (spread over both nodes) and send messages
   steadily, over WebSocket, with client_msg_ids, resending what was not acknowledged after a
   reconnect, as the real clients do. Meanwhile: node B is killed (SIGKILL) and started again,
   Redis is killed and started again, node A is stopped gracefully (SIGTERM: its sockets close with
   1012) and started again. At the end every message sent is stored exactly once, and every device
   holds every message of its chats exactly once, with no gap (per chat and seq), without a final
   reload: the devices got there by themselves.
2. Node B's subscription to Redis freezes without closing (a proxy stops passing its bytes): B
   notices, subscribes again and its devices catch up, so a message from A still arrives.
3. The database session holding the deployment's jobs is terminated: one node polls the Bot API
   afterwards, never two.
4. Presence and typing cross nodes; a device on a node that is killed shows offline to its peers
   on the other node within 30 s.
5. One person's rate limit holds across both nodes (within 10 %).
6. Exactly one node talks to the Telegram Bot API at a time, and the other takes over when it stops.

    python3 Tests/MultiNode/multinode.py --server .build/debug/courier --database-url postgres://… --output test-output/multinode
"""

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "WebClient"))
from courier_server import CourierServer, free_port  # noqa: E402
from fake_telegram import BOT_USERNAME, FakeTelegram  # noqa: E402

PASSWORD = "correct horse battery"
USER_LIMIT = 600  # requests per 10 minutes, per person (COURIER_RATE_LIMIT_USER)


def log(*parts):
    print("multinode:", *parts, flush=True)


def http(method, url, body=None, token=None, timeout=10):
    """(status, JSON body or None)."""
    request = urllib.request.Request(url, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(request, data=data, timeout=timeout) as response:
            text = response.read()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text) if text else None
        except json.JSONDecodeError:
            return error.code, None
    except (urllib.error.URLError, ConnectionError, OSError):
        return 0, None  # nobody answered


class Redis:
    """A Redis of the test's own, on a fixed port, so that it can be killed and started again."""

    def __init__(self, folder):
        self.port = free_port()
        self.password = secrets.token_hex(16)
        self.folder = folder
        self.process = None
        self.url = f"redis://:{self.password}@127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--requirepass", self.password, "--save", "",
             "--appendonly", "no", "--dir", self.folder, "--logfile", os.path.join(self.folder, "redis.log")])
        deadline = time.time() + 20
        while time.time() < deadline:
            answer = subprocess.run(["redis-cli", "-p", str(self.port), "-a", self.password, "--no-auth-warning", "ping"],
                                    capture_output=True, text=True)
            if "PONG" in answer.stdout:
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


class FreezableProxy:
    """A TCP proxy between node B and Redis that can freeze the connections which subscribed, as a
    network path that dies without closing would: nothing passes, nothing is closed."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.port = free_port()
        self.frozen = set()  # ids of frozen connections
        self.subscribed = set()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(asyncio.start_server(self.handle, "127.0.0.1", self.port), self.loop).result(10)

    def freeze_subscriptions(self):
        self.loop.call_soon_threadsafe(lambda: self.frozen.update(self.subscribed))

    def thaw(self):
        self.loop.call_soon_threadsafe(self.frozen.clear)

    async def handle(self, client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_writer.close()
            return
        key = id(client_writer)

        async def pipe(reader, writer, upward):
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    if upward and b"SUBSCRIBE" in data:
                        self.subscribed.add(key)
                    while key in self.frozen:
                        await asyncio.sleep(0.1)
                    writer.write(data)
                    await writer.drain()
            except (OSError, ConnectionError):
                pass
            writer.close()

        await asyncio.gather(pipe(client_reader, upstream_writer, True), pipe(upstream_reader, client_writer, False))


class Caddy:
    def __init__(self, upstreams, output):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(output, "caddy.log"), "ab")
        env = dict(os.environ, COURIER_SITE=self.base, COURIER_UPSTREAMS=" ".join(upstreams),
                   CADDY_ADMIN=f"127.0.0.1:{free_port()}", XDG_DATA_HOME=tempfile.mkdtemp(prefix="caddy-"),
                   XDG_CONFIG_HOME=tempfile.mkdtemp(prefix="caddy-"))
        self.process = subprocess.Popen(["caddy", "run", "--config", os.path.join(ROOT, "deploy", "Caddyfile"), "--adapter", "caddyfile"],
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if http("GET", self.base + "/health", timeout=2)[0] == 200:
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("Caddy did not come up; see caddy.log")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


class Device:
    """One device, as the real clients behave: connects with ?resume=1, resumes from its positions,
    applies a chat's updates in pts order (a seen one is skipped, a gap makes it resume), resends
    the messages not acknowledged after every reconnect, and reconnects after any close."""

    def __init__(self, name, token, ws_url, chats, account_pts):
        self.name, self.token, self.ws_url = name, token, ws_url
        self.positions = dict(chats)
        self.account_pts = account_pts
        self.seen = defaultdict(set)
        self.repeated = 0  # a chat's seq applied twice: must stay 0
        self.pending = {}  # client_msg_id -> frame, until acknowledged
        self.acked = {}  # client_msg_id -> (chat, seq)
        self.ack_errors = []
        self.close_codes = []
        self.connects = 0
        self.gap_resumes = 0
        self.ws = None
        self.ready = False
        self.resuming = False
        self.stopped = False
        self.frames = []  # presence and typing frames, for the checks that look for them

    async def run(self):
        while not self.stopped:
            try:
                async with connect(f"{self.ws_url}?token={self.token}&resume=1", open_timeout=10, max_size=2 ** 22) as ws:
                    self.ws = ws
                    self.connects += 1
                    await self.resume()
                    async for raw in ws:
                        await self.on_frame(json.loads(raw))
                    self.close_codes.append(ws.close_code)
            except ConnectionClosed as closed:
                self.close_codes.append(closed.rcvd.code if closed.rcvd else None)
            except (OSError, InvalidHandshake, InvalidStatus, asyncio.TimeoutError):
                pass
            self.ws, self.ready, self.resuming = None, False, False
            if not self.stopped:
                await asyncio.sleep(random.uniform(0.05, 0.3))

    async def send_raw(self, frame):
        ws = self.ws
        if ws is None:
            return
        try:
            await ws.send(json.dumps(frame))
        except ConnectionClosed:
            pass

    async def resume(self):
        self.resuming = True
        frame = {"type": "resume", "ref": "resume", "chats": self.positions, "limit": 500}
        if self.account_pts is not None:
            frame["account_pts"] = self.account_pts
        await self.send_raw(frame)

    async def send_message(self, chat):
        cid = f"{self.name}-{secrets.token_hex(6)}"
        frame = {"type": "message", "chat_id": chat, "content": cid, "client_msg_id": cid, "message_type": "text", "ref": cid}
        self.pending[cid] = frame
        if self.ready:
            await self.send_raw(frame)
        return cid

    def apply(self, chat, pts, seq):
        """True when the update was the chat's next; False for one seen already or after a gap."""
        held = self.positions.get(chat)
        if held is None or pts <= held:
            return False
        if pts > held + 1:
            return None
        self.positions[chat] = pts
        if seq is not None:
            if seq in self.seen[chat]:
                self.repeated += 1
            self.seen[chat].add(seq)
        return True

    async def gap(self):
        if not self.resuming:
            self.gap_resumes += 1
            await self.resume()

    async def on_frame(self, frame):
        kind = frame.get("type")
        if kind == "resumed":
            for chat, pts in (frame.get("chats") or {}).items():
                if chat in self.positions:
                    self.positions[chat] = max(self.positions[chat], pts)
            if frame.get("account_pts") is not None:
                self.account_pts = frame["account_pts"]
            if frame.get("more"):
                await self.resume()
                return
            self.resuming, self.ready = False, True
            for pending in list(self.pending.values()):
                await self.send_raw(pending)
            return
        if kind == "ack":
            cid = frame.get("client_msg_id")
            if frame.get("error"):
                self.ack_errors.append(frame["error"])
                return
            if cid in self.pending:
                del self.pending[cid]
            if cid:
                self.acked[cid] = (frame.get("chat_id"), frame.get("seq"))
            chat, pts = frame.get("chat_id"), frame.get("pts")
            if chat in self.positions and pts is not None and self.apply(chat, pts, frame.get("seq")) is None:
                await self.gap()
            return
        if kind in ("presence", "typing", "error"):
            self.frames.append(frame)
            return
        if frame.get("account_pts") is not None:
            held = self.account_pts
            if held is None or frame["account_pts"] == held + 1:
                self.account_pts = frame["account_pts"]
            elif frame["account_pts"] > held + 1:
                await self.gap()
            return
        chat, pts = frame.get("chat_id"), frame.get("pts")
        if chat in self.positions and pts is not None:
            seq = (frame.get("message") or {}).get("seq") if kind == "new_message" else None
            if self.apply(chat, pts, seq) is None:
                await self.gap()

    async def wait_ready(self, seconds=20):
        deadline = time.time() + seconds
        while not self.ready:
            if time.time() > deadline:
                raise AssertionError(f"{self.name} did not connect and resume within {seconds} s")
            await asyncio.sleep(0.05)


class MultiNodeTest:
    def __init__(self, args):
        self.args = args
        self.output = os.path.abspath(args.output)
        os.makedirs(self.output, exist_ok=True)
        self.suffix = secrets.token_hex(3)
        self.failures = []
        self.redis = Redis(tempfile.mkdtemp(prefix="courier-multinode-redis-"))
        self.proxy = FreezableProxy(self.redis.port)
        self.telegram = FakeTelegram().start()
        shared = tempfile.mkdtemp(prefix="courier-multinode-")
        self.nodes = {}
        for name in ("a", "b"):
            folder = os.path.join(self.output, "node-" + name)
            os.makedirs(folder, exist_ok=True)
            self.nodes[name] = CourierServer(
                os.path.abspath(args.server), folder, self.telegram.url + "/node-" + name, name="courier-node-" + name,
                extra_env={
                    # Node B reaches Redis through the freezable proxy.
                    "DATABASE_URL": args.database_url, "JWT_SECRET": "multinode-" + "s" * 40,
                    "REDIS_URL": self.redis.url if name == "a" else self.redis.url.replace(f":{self.redis.port}", f":{self.proxy.port}"),
                    "COURIER_MASTER_KEY_FILE": os.path.join(shared, "master.key"), "COURIER_TRUSTED_PROXIES": "127.0.0.1",
                    "COURIER_NODE_ID": "node-" + name, "COURIER_DRAIN_SECONDS": "2",
                    "COURIER_RATE_LIMIT_USER": f"{USER_LIMIT}/600", "COURIER_RATE_LIMIT_REGISTER_PER_IP": "1000/60",
                    "COURIER_RATE_LIMIT_WEBSOCKET_UPGRADES_PER_USER": "1000/60", "COURIER_RATE_LIMIT_LOGIN_PER_IP": "1000/60",
                    "COURIER_RATE_LIMIT_UNAUTHENTICATED_PER_IP": "10000/60",
                },
            )
        self.caddy = None

    def check(self, condition, what):
        log(("ok: " if condition else "FAILED: ") + what)
        if not condition:
            self.failures.append(what)

    # MARK: Setup

    def api(self, method, path, body=None, token=None, base=None):
        status, answer = http(method, (base or self.caddy.base) + "/api/v1" + path, body, token)
        if status >= 300:
            raise AssertionError(f"{method} {path}: {status} {answer}")
        return answer

    def register(self, name):
        answer = self.api("POST", "/auth/register", {
            "username": f"{name}_{self.suffix}", "phone": f"+1555{random.randint(1000000, 9999999)}", "password": PASSWORD,
        })
        return {"name": name, "id": answer["user"]["id"], "token": answer["token"]}

    def start(self):
        self.redis.start()
        self.nodes["a"].start()  # first: it creates the master key the other node shares
        self.nodes["b"].start()
        self.caddy = Caddy([f"127.0.0.1:{node.port}" for node in self.nodes.values()], self.output)
        log(f"Caddy at {self.caddy.base}; node A on {self.nodes['a'].port}, node B on {self.nodes['b'].port}; Redis on {self.redis.port}")

    def stop(self):
        for node in self.nodes.values():
            node.cleanup()
        if self.caddy:
            self.caddy.stop()
        self.redis.kill()
        self.telegram.stop()

    def node_named(self, caller):
        return {"node-a": "a", "node-b": "b"}.get(caller)

    # MARK: Checks

    async def steady_load_with_failures(self):
        people = [self.register(f"mn{index}") for index in range(12)]
        groups = []
        for index in range(4):
            members = [people[(index * 3 + k) % 12] for k in range(6)]
            chat = self.api("POST", "/chats", {"type": "group", "name": f"Load {index}", "member_ids": [m["id"] for m in members[1:]]},
                            members[0]["token"])
            groups.append((chat["id"], members))
        # Olga never connects and has linked Telegram: every message in the first group is a notice for her.
        olga = self.register("olga")
        self.api("POST", f"/chats/{groups[0][0]}/members", {"user_ids": [olga["id"]]}, groups[0][1][0]["token"])
        link = self.api("POST", "/telegram/link", token=olga["token"])["url"]
        self.telegram.user_says(555001, "/start " + link.split("?start=", 1)[1])
        self.telegram.wait_for_sent(lambda m: m.get("chat_id") == 555001 and "Linked" in m.get("text", ""), description="link confirmation")

        devices = []
        for person in people:
            listing = self.api("GET", "/chats?limit=100", token=person["token"])
            mine = {chat["id"]: chat["pts"] for chat in listing["chats"]}
            device = Device(person["name"], person["token"], self.caddy.base.replace("http", "ws") + "/ws", mine, listing.get("account_pts"))
            device.groups = [chat for chat, members in groups if person in members]
            devices.append(device)
        tasks = [asyncio.create_task(device.run()) for device in devices]
        for device in devices:
            await device.wait_ready()
        log(f"{len(devices)} devices connected through Caddy")

        stop_sending = asyncio.Event()
        sent = defaultdict(set)  # chat -> client_msg_ids

        async def sender(device):
            turn = 0
            while not stop_sending.is_set():
                if device.ready:
                    chat = device.groups[turn % len(device.groups)]
                    sent[chat].add(await device.send_message(chat))
                    turn += 1
                await asyncio.sleep(1 / self.args.rate_per_person)

        senders = [asyncio.create_task(sender(device)) for device in devices]
        loop = asyncio.get_running_loop()
        timeline = self.args.duration / 30
        began = time.time()

        async def at(second, what, action):
            await asyncio.sleep(max(0, began + second * timeline - time.time()))
            log(f"t={time.time() - began:.1f}s: {what}")
            await loop.run_in_executor(None, action)

        connects_before_kill = {}

        def kill_b():
            connects_before_kill.update({device.name: device.connects for device in devices})
            self.nodes["b"].kill()

        await at(5, "SIGKILL node B", kill_b)
        await at(9, "node B starts again", self.nodes["b"].start)
        await at(13, "SIGKILL Redis, then it starts again", lambda: (self.redis.kill(), time.sleep(1), self.redis.start()))
        relay_stopped = []

        def stop_a():
            relay_stopped.append(time.time())
            self.check(self.nodes["a"].stop() == 0, "node A stops cleanly on SIGTERM")

        # Node A holds the deployment's jobs (it started first); node B takes them over within its
        # 5 s retry, before A is back.
        await at(16, "SIGTERM node A (drain)", stop_a)
        await at(24, "node A starts again", self.nodes["a"].start)
        await at(30, "load ends", lambda: None)
        stop_sending.set()
        await asyncio.gather(*senders)

        # Everything settles by itself: no reload, no forced resume.
        expected = {}
        deadline = time.time() + 60
        while time.time() < deadline:
            expected = self.stored(groups)
            if all(not device.pending for device in devices) and all(
                device.seen[chat] == set(expected[chat].values()) for device in devices for chat in device.groups
            ):
                break
            await asyncio.sleep(0.5)
        for device in devices:
            device.stopped = True
            if device.ws:
                await device.ws.close()
        await asyncio.gather(*tasks)

        total_sent = sum(len(ids) for ids in sent.values())
        total_stored = sum(len(stored) for stored in expected.values())
        log(f"{total_sent} messages sent, {total_stored} stored, {sum(d.gap_resumes for d in devices)} resumes after a gap, "
            f"{sum(d.connects for d in devices) - len(devices)} reconnects")
        self.check(all(not device.pending for device in devices), "every message sent was acknowledged in the end")
        self.check(not any(device.ack_errors for device in devices), f"no ack carried an error ({[d.ack_errors[:2] for d in devices if d.ack_errors]})")
        for chat, _ in groups:
            stored = expected[chat]
            self.check(set(stored) == sent[chat], f"chat {chat[:8]}: each of the {len(sent[chat])} messages sent is stored, exactly once")
            self.check(sorted(stored.values()) == list(range(1, len(stored) + 1)), f"chat {chat[:8]}: seqs 1…{len(stored)} with no gap")
        missing = {(d.name, chat[:8]): len(set(expected[chat].values()) - d.seen[chat]) for d in devices for chat in d.groups}
        self.check(all(count == 0 for count in missing.values()),
                   f"every device holds every message of its chats (missing: {({k: v for k, v in missing.items() if v}) or 'none'})")
        self.check(all(d.repeated == 0 for d in devices), "no device applied a message twice")
        on_b = [d.name for d in devices if any(code in (1006, None) for code in d.close_codes)]
        self.check(0 < len(on_b) < len(devices), f"devices were spread over both nodes ({len(on_b)} of {len(devices)} lost node B)")
        self.check(any(1012 in d.close_codes for d in devices), "node A's devices were closed with 1012 when it drained")
        self.check(any(4009 in d.close_codes for d in devices), "after Redis came back, devices were told to catch up (4009)")

        # Exactly one node talks to the Bot API at a time; the other takes over.
        with self.telegram.changed:
            calls = [(at_time, self.node_named(caller), method) for at_time, caller, method in self.telegram.calls
                     if method in ("getUpdates", "sendMessage") and self.node_named(caller)]
        callers = [node for _, node, _ in calls]
        switches = sum(1 for before, after in zip(callers, callers[1:]) if before != after)
        self.check(1 <= switches <= 3, f"the Bot API was used by one node at a time, the other taking over ({switches} handovers)")
        log("Bot API calls by node: " + ", ".join(f"{node} {method} {sum(1 for _, n, m in calls if (n, m) == (node, method))}"
                                                   for node in "ab" for method in ("getUpdates", "sendMessage")))
        after_stop = [node for at_time, node, method in calls if method == "sendMessage" and at_time > relay_stopped[0] + 6]
        self.check("b" in after_stop, "notices kept going out after the relaying node stopped")

    def stored(self, groups):
        """Per group, content -> seq of every message stored, read through node A or B directly."""
        result = {}
        for chat, members in groups:
            token = members[0]["token"]
            stored, after = {}, 0
            while True:
                page = self.api("GET", f"/chats/{chat}/messages?after_seq={after}&limit=100", token=token)
                for message in page["messages"]:
                    if message["content"] in stored:
                        stored[message["content"] + "#duplicate"] = message["seq"]
                    else:
                        stored[message["content"]] = message["seq"]
                    after = max(after, message["seq"])
                if not page.get("has_more") or not page["messages"]:
                    break
            result[chat] = stored
        return result

    async def presence_across_nodes(self):
        watcher, leaver = self.register("watcher"), self.register("leaver")
        dm = self.api("POST", "/chats", {"type": "dm", "user_id": leaver["id"]}, watcher["token"])["id"]
        on_a = Device("watcher", watcher["token"], f"ws://127.0.0.1:{self.nodes['a'].port}/ws", {dm: 0}, None)
        on_b = Device("leaver", leaver["token"], f"ws://127.0.0.1:{self.nodes['b'].port}/ws", {dm: 0}, None)
        tasks = [asyncio.create_task(on_a.run()), asyncio.create_task(on_b.run())]
        await on_a.wait_ready()
        await on_b.wait_ready()
        await on_a.send_raw({"type": "subscribe_presence", "user_ids": [leaver["id"]]})

        async def seen(device, predicate, seconds):
            deadline = time.time() + seconds
            while time.time() < deadline:
                if any(predicate(frame) for frame in device.frames):
                    return True
                await asyncio.sleep(0.05)
            return False

        self.check(await seen(on_a, lambda f: f.get("type") == "presence" and f.get("user_id") == leaver["id"] and f.get("online"), 5),
                   "someone connected to node B shows online to a peer on node A")
        await on_b.send_raw({"type": "typing", "chat_id": dm})
        self.check(await seen(on_a, lambda f: f.get("type") == "typing" and f.get("user_id") == leaver["id"], 5),
                   "typing on node B reaches node A")
        on_b.stopped = True
        killed = time.time()
        await asyncio.get_running_loop().run_in_executor(None, self.nodes["b"].kill)
        offline = await seen(on_a, lambda f: f.get("type") == "presence" and f.get("user_id") == leaver["id"] and f.get("online") is False, 35)
        self.check(offline and time.time() - killed <= 30, f"a killed node's user shows offline within 30 s (after {time.time() - killed:.1f} s)")
        on_a.stopped = True
        if on_a.ws:
            await on_a.ws.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, self.nodes["b"].start)

    async def frozen_subscription(self):
        """Node B's subscription to Redis goes silent without closing: B notices within seconds,
        subscribes again and has its devices catch up, so a message from A still arrives."""
        alice, bob = self.register("frozen_a"), self.register("frozen_b")
        dm = self.api("POST", "/chats", {"type": "dm", "user_id": bob["id"]}, alice["token"])["id"]
        sender = Device("frozen_a", alice["token"], f"ws://127.0.0.1:{self.nodes['a'].port}/ws", {dm: 0}, None)
        receiver = Device("frozen_b", bob["token"], f"ws://127.0.0.1:{self.nodes['b'].port}/ws", {dm: 0}, None)
        tasks = [asyncio.create_task(sender.run()), asyncio.create_task(receiver.run())]
        await sender.wait_ready()
        await receiver.wait_ready()
        self.proxy.freeze_subscriptions()
        frozen_at = time.time()
        await sender.send_message(dm)
        deadline = time.time() + 20
        while time.time() < deadline and not receiver.seen[dm]:
            await asyncio.sleep(0.1)
        self.check(bool(receiver.seen[dm]), f"a message crosses to node B while its old subscription is frozen "
                                            f"(after {time.time() - frozen_at:.1f} s; B's device was told 4009: {4009 in receiver.close_codes})")
        self.proxy.thaw()
        for device in (sender, receiver):
            device.stopped = True
            if device.ws:
                await device.ws.close()
        await asyncio.gather(*tasks, return_exceptions=True)

    def lease_lost_to_a_terminated_session(self):
        """The database session holding the deployment's jobs is terminated: its node stops them
        within seconds, one node takes them over, and never two at once."""
        psql = os.path.join(subprocess.run(["bash", "-c", "ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1"],
                                           capture_output=True, text=True).stdout.strip(), "psql")
        subprocess.run([psql, self.args.database_url, "-qAtc",
                        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"],
                       check=True, capture_output=True)
        terminated = time.time()
        time.sleep(20)
        with self.telegram.changed:
            calls = [(at, self.node_named(caller)) for at, caller, method in self.telegram.calls
                     if method == "getUpdates" and self.node_named(caller) and at > terminated + 12]
        nodes = {node for _, node in calls}
        self.check(len(calls) > 0 and len(nodes) == 1,
                   f"after the lease holder's session was terminated, one node polls the Bot API ({sorted(nodes)}, {len(calls)} polls)")

    def rate_limit_across_nodes(self):
        person = self.register("limited")
        bases = [f"http://127.0.0.1:{node.port}" for node in self.nodes.values()]
        accepted, refused = 0, 0
        began = time.time()
        for index in range(int(USER_LIMIT * 1.6)):
            status, _ = http("GET", bases[index % 2] + "/api/v1/users/me", token=person["token"])
            if status == 200:
                accepted += 1
            elif status == 429:
                refused += 1
        # The bucket refills at USER_LIMIT per 600 s while the requests go out; registering took one.
        allowed = USER_LIMIT - 1 + (time.time() - began) * USER_LIMIT / 600
        self.check(abs(accepted - allowed) <= allowed * 0.1 and refused > 0,
                   f"one budget across both nodes: {accepted} accepted, {refused} refused, about {allowed:.0f} allowed")

    def run(self):
        try:
            self.start()
            asyncio.run(self.steady_load_with_failures())
            asyncio.run(self.frozen_subscription())
            self.lease_lost_to_a_terminated_session()
            asyncio.run(self.presence_across_nodes())
            self.rate_limit_across_nodes()
        finally:
            self.stop()
        if self.failures:
            log(f"{len(self.failures)} checks failed; logs in {self.output}")
            return 1
        log("all checks passed")
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="the courier binary")
    parser.add_argument("--database-url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--output", default="test-output/multinode")
    parser.add_argument("--duration", type=float, default=30, help="seconds of load (the failures are spread over it)")
    parser.add_argument("--rate-per-person", type=float, default=3, help="messages per second each of the 12 people sends")
    sys.exit(MultiNodeTest(parser.parse_args()).run())


if __name__ == "__main__":
    main()
