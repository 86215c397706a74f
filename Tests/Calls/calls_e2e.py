#!/usr/bin/env python3
"""End-to-end test of one-to-one calls in the Courier web client, with the media really going
through a TURN server (Debian's coturn) on loopback.

First it checks the hardened coturn template (deploy/turnserver.conf, copied, never changed): with
it as it is, a valid credential from Courier's /api/v1/calls/ice-servers cannot reach a loopback
peer (403 Forbidden IP), and an altered password or an expired username cannot even allocate.
Then coturn is restarted with the one exception a loopback test needs (`--allow-loopback-peers
--allowed-peer-ip=127.0.0.1`) and the credential passes. Then two headless Chromium sessions (Alice
and Bob, fake camera and microphone) turn "Relay all my calls" on in the settings, and:
- Alice video-calls Bob: his page rings (the incoming screen), he accepts; both connections reach
  "connected", audio and video bytes arrive on both sides, and the selected candidate pair is
  relay ↔ relay (through coturn); Alice mutes and Bob's screen says so; the timer runs; Alice hangs
  up: "Outgoing call · 0:0X" for her, "Incoming call · 0:0X" for him, in the DM;
- Bob declines a call ("Declined" / "Declined call"); Alice cancels one ("Cancelled call" / "Missed
  call"); nobody answers one for 30 s ("No answer" / "Missed call"), while a second tab of Bob's,
  opened during the ringing, rings too (from /calls/current) and stops with the first.

It fails on any browser console error or warning, keeps screenshots (incoming screen, in-call
screens) and the server's and coturn's logs in the output folder, and cleans up after itself.

    python3 Tests/Calls/calls_e2e.py [--server .build/debug/courier] [--output test-output/calls]
                                     [--web-dir Sources/CourierServer/Web]

Exits 0 when every step passed; prints `calls-e2e: N passed, N failed` as its last line.
"""

import argparse
import base64
import hashlib
import hmac
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "WebClient"))
from selenium.webdriver.common.by import By  # noqa: E402

from courier_server import CourierServer, free_port  # noqa: E402
from e2e import PASSWORD, Browser, ConsoleErrors  # noqa: E402
from fake_telegram import FakeTelegram  # noqa: E402

TEMPLATE = os.path.join(ROOT, "deploy", "turnserver.conf")
RELAY_PORTS = 40  # coturn's relay port range (two browsers need a few each)
RING_SECONDS = 30  # the server's limit for a call that nobody answers

# The selected ICE candidate pair and the bytes received per kind, read in the page from the
# RTCPeerConnection the client exposes for tests (window.__courierCall).
CALL_STATS = """
const pc = window.__courierCall;
if (!pc) { done({ error: 'no call' }); return; }
pc.getStats().then((report) => {
  const byId = new Map();
  const inbound = {};
  let transport = null;
  report.forEach((s) => {
    byId.set(s.id, s);
    if (s.type === 'inbound-rtp') inbound[s.kind] = (inbound[s.kind] || 0) + (s.bytesReceived || 0);
    if (s.type === 'transport' && s.selectedCandidatePairId) transport = s;
  });
  let pair = transport ? byId.get(transport.selectedCandidatePairId) : null;
  if (!pair) report.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
  const local = pair && byId.get(pair.localCandidateId);
  const remote = pair && byId.get(pair.remoteCandidateId);
  done({
    state: pc.connectionState,
    inbound,
    local: local ? { type: local.candidateType, address: local.address, protocol: local.relayProtocol || local.protocol } : null,
    remote: remote ? { type: remote.candidateType, address: remote.address } : null,
  });
}, (error) => done({ error: String(error) }));
"""


# ------------------------------------------------------------------------------------------------
# coturn


def udp_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_udp_tcp_port():
    """A port free for both TCP and UDP on loopback (coturn listens on both)."""
    for _ in range(50):
        port = free_port()
        if udp_free(port):
            return port
    raise RuntimeError("no free port for coturn")


def free_port_range(size):
    """The first port of `size` consecutive UDP ports free on loopback."""
    for _ in range(50):
        start = random.randrange(40000, 60000 - size)
        if all(udp_free(port) for port in range(start, start + size)):
            return start
    raise RuntimeError("no free range of relay ports")


def turn_credential(secret, user, expires_at):
    """coturn's "TURN REST API" credential: `<expiry>:<user>`, Base64(HMAC-SHA1(secret, username))."""
    username = f"{expires_at}:{user}"
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, password


class Coturn:
    """coturn from the hardened template, on loopback ports of its own. The template is copied and
    left as it is; all a loopback test adds is on the command line."""

    def __init__(self, folder, secret):
        self.folder = folder
        self.secret = secret
        self.port = free_udp_tcp_port()
        self.min_port = free_port_range(RELAY_PORTS)
        self.config = os.path.join(folder, "turnserver.conf")
        shutil.copyfile(TEMPLATE, self.config)
        self.log_path = os.path.join(folder, "turnserver.log")
        self.output_path = os.path.join(folder, "turnserver.out")
        self.process = None

    def start(self, loopback_peers=False):
        self.stop()
        command = [
            "turnserver", "-c", self.config,
            "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={self.port}",
            f"--min-port={self.min_port}", f"--max-port={self.min_port + RELAY_PORTS - 1}",
            f"--static-auth-secret={self.secret}", "--realm=courier.test", f"--log-file={self.log_path}",
            f"--pidfile={os.path.join(self.folder, 'turnserver.pid')}",
        ]
        if loopback_peers:
            # The one exception the test needs: both browsers' relay addresses are on 127.0.0.1.
            command += ["--allow-loopback-peers", "--allowed-peer-ip=127.0.0.1"]
        output = open(self.output_path, "ab")
        output.write(f"\n--- {' '.join(c if 'secret' not in c else '--static-auth-secret=…' for c in command)}\n".encode())
        output.flush()
        self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        output.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"turnserver exited with {self.process.returncode}; see {self.output_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("turnserver did not start listening within 10 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def client(self, username, password):
        """turnutils_uclient: two allocations that send each other one message through the relay."""
        peer_port = free_port()
        command = ["turnutils_uclient", "-u", username, "-w", password, "-p", str(self.port), "-n", "1", "-m", "1",
                   "-l", "100", "-y", "-e", "127.0.0.1", "-r", str(peer_port), "127.0.0.1"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
        return result.returncode, result.stdout + result.stderr


# ------------------------------------------------------------------------------------------------
# The scenario


def seconds_of(clock):
    """"1:05" → 65."""
    minutes, seconds = clock.split(":")[-2:]
    return int(minutes) * 60 + int(seconds)


class Scenario:
    def __init__(self, args):
        self.args = args
        os.makedirs(args.output, exist_ok=True)
        self.folder = tempfile.mkdtemp(prefix="courier-calls-e2e-")
        self.secret = secrets.token_hex(32)
        self.turn = Coturn(self.folder, self.secret)
        self.telegram = FakeTelegram().start()
        self.server = CourierServer(
            os.path.abspath(args.server), args.output, self.telegram.url, name="courier-calls-e2e",
            web_dir=os.path.abspath(args.web_dir),
            extra_env={"COURIER_TURN_URLS": f"turn:127.0.0.1:{self.turn.port}?transport=udp", "COURIER_TURN_SECRET": self.secret},
        )
        self.suffix = f"{random.randint(0, 999999):06d}"
        self.alice_name = f"alice_{self.suffix}"
        self.bob_name = f"bob_{self.suffix}"
        self.alice = None
        self.bob = None

    # -- helpers ------------------------------------------------------------------------------

    def token(self, browser):
        return browser.js("return localStorage.getItem('courier.token')")

    def register(self, browser, username, phone):
        browser.open("/")
        browser.find("#sign-in-form")
        # The client's one test hook: the current RTCPeerConnection as window.__courierCall.
        browser.js("localStorage.setItem('courierTestHooks', '1')")
        browser.click("#sign-in-form .link-button")
        browser.type("#register-form input[name=phone]", phone)
        browser.type("#register-form input[name=username]", username)
        browser.type("#register-form input[name=password]", PASSWORD)
        browser.click("#register-form button[type=submit]")
        self.online(browser)

    def online(self, browser):
        browser.wait(lambda d: d.find_element(By.ID, "connection-state").get_attribute("data-state") == "online",
                     "the connection to be online")

    def phase(self, browser):
        """The call screen's phase, or None while it is hidden."""
        return browser.js("const s = document.getElementById('call-screen'); return s && !s.hidden ? s.dataset.phase : null")

    def wait_phase(self, browser, phases, what, timeout=15):
        phases = (phases,) if phases is None or isinstance(phases, str) else phases
        browser.wait(lambda d: self.phase(browser) in phases, f"{what} (call screen {' or '.join(map(str, phases))})", timeout)

    def wait_notice(self, browser, notice, close=True):
        """The ended call's notice, shown for a moment; then (with `close`) the screen goes."""
        browser.wait(lambda d: self.phase(browser) == "ended" and browser.text_of("#call-status") == notice,
                     f"the call screen to say {notice!r}")
        if close:
            browser.wait(lambda d: self.phase(browser) is None, "the call screen to close", 10)

    def call_lines(self, browser):
        return browser.js("return [...document.querySelectorAll('#message-list .call-line .call-line-text')].map((e) => e.textContent)")

    def wait_call_line(self, browser, pattern, index=-1):
        browser.wait(lambda d: (lines := self.call_lines(browser)) and len(lines) >= abs(index) and re.fullmatch(pattern, lines[index]),
                     f"the call line {pattern!r} in the DM (lines: {self.call_lines(browser)})")

    def stats(self, browser):
        result = browser.js_async(CALL_STATS)
        assert "error" not in result, f"{browser.name}: {result}"
        return result

    # -- steps --------------------------------------------------------------------------------

    def step_module_checks(self):
        """The client's pure call helpers (Tests/Calls/call_checks.js), in the page."""
        with open(os.path.join(HERE, "call_checks.js")) as file:
            script = file.read()
        self.alice.open("/")
        self.alice.find("#sign-in-form")
        result = self.alice.driver.execute_async_script(script)
        assert not result["failures"], "call helper checks failed: " + "; ".join(result["failures"])

    def step_turn_template(self):
        """The template's peer restrictions and coturn's credential checks, with turnutils_uclient."""
        user = self.server.api("POST", "/auth/register", {
            "phone": f"+1415{self.suffix}9", "username": f"turn_{self.suffix}", "password": PASSWORD})
        servers = self.server.api("GET", "/calls/ice-servers", token=user["token"])
        turn = [s for s in servers["ice_servers"] if s.get("username")]
        assert turn and turn[0]["urls"] == [f"turn:127.0.0.1:{self.turn.port}?transport=udp"], servers
        username, password = turn[0]["username"], turn[0]["credential"]
        expiry, user_id = username.split(":", 1)
        assert user_id == user["user"]["id"] and int(expiry) > time.time(), username
        assert (username, password) == turn_credential(self.secret, user_id, int(expiry)), "the credential follows coturn's REST API"

        self.turn.start()
        code, output = self.turn.client(username, password)
        assert code != 0 and "403 (Forbidden IP)" in output, f"the template must refuse loopback peers (exit {code}):\n{output[-800:]}"
        code, output = self.turn.client(username, password[:-2] + ("A" if password[-2] != "A" else "B") + password[-1])
        assert code != 0 and "Cannot complete Allocation" in output, f"an altered password must be refused (exit {code}):\n{output[-800:]}"
        expired = turn_credential(self.secret, user_id, int(time.time()) - 60)
        code, output = self.turn.client(*expired)
        assert code != 0 and "Cannot complete Allocation" in output, f"an expired username must be refused (exit {code}):\n{output[-800:]}"

        self.turn.start(loopback_peers=True)
        code, output = self.turn.client(username, password)
        assert code == 0, f"with loopback peers allowed the valid credential must pass (exit {code}):\n{output[-800:]}"

    def step_register_and_relay(self):
        """Both sign up and turn "Relay all my calls" on in the settings."""
        self.register(self.alice, self.alice_name, f"+1415{self.suffix}1")
        self.register(self.bob, self.bob_name, f"+1415{self.suffix}2")
        for browser in (self.alice, self.bob):
            browser.click("#settings-link")
            toggle = browser.wait(lambda d: (t := d.find_element(By.ID, "relay-calls")).is_enabled() and t, "the relay toggle")
            assert not toggle.is_selected(), "relaying all calls is off at first"
            assert "IP address" in browser.text_of("#relay-calls-hint"), "the setting says what it hides"
            browser.click("label[for=relay-calls]")
            browser.wait(lambda d: (t := d.find_element(By.ID, "relay-calls")).is_selected() and t.is_enabled(), "the toggle to be saved")
            assert self.server.api("GET", "/calls/settings", token=self.token(browser)) == {"relay_only": True}
            if browser is self.alice:
                browser.js("document.getElementById('settings-calls').scrollIntoView({block: 'center'})")
                browser.screenshot("calls-00-settings-relay")
            browser.find("#settings-calls")
        # The setting survives a reload of the page.
        self.alice.open("/#/settings")
        self.alice.wait(lambda d: (t := d.find_element(By.ID, "relay-calls")).is_enabled() and t.is_selected(), "the toggle, still on")

    def step_open_dm(self):
        a, b = self.alice, self.bob
        # Calls are one to one: a group has no call buttons.
        bob_id = b.js("return localStorage.getItem('courier.user_id')")
        group = self.server.api("POST", "/chats", {"type": "group", "name": "Call-free group", "member_ids": [bob_id]}, self.token(a))
        a.open(f"/#/chat/{group['id']}")
        a.wait(lambda d: d.find_element(By.ID, "conversation-title").text == "Call-free group", "the group to open")
        assert not a.driver.find_element(By.ID, "call-button").is_displayed(), "no call button in a group"
        assert not a.driver.find_element(By.ID, "video-call-button").is_displayed(), "no video call button in a group"
        a.open("/#/")
        self.online(a)
        a.click("#new-chat-button")
        a.wait(lambda d: [x for x in d.find_elements(By.CSS_SELECTOR, ".menu .menu-item") if x.text == "New message"],
               "the New message item")[0].click()
        a.type("#dm-username", self.bob_name, enter=True)
        a.wait(lambda d: d.find_element(By.ID, "conversation-title").text == self.bob_name, "the DM with Bob to open")
        a.type("#composer-input", "Can I call you?", enter=True)
        b.open("/#/")
        b.click(f".chat-item[aria-label^='{self.alice_name}']")
        b.wait(lambda d: d.find_element(By.ID, "conversation-title").text == self.alice_name, "the DM with Alice to open")
        for browser in (a, b):
            browser.find("#call-button")
            browser.find("#video-call-button")
        self.chat_id = a.js("return document.querySelector('.conversation').dataset.chatId")

    def step_video_call(self):
        a, b = self.alice, self.bob
        a.click("#video-call-button")
        self.wait_phase(b, "incoming", "Bob's page to ring")
        assert b.text_of("#call-peer-name") == self.alice_name
        assert b.text_of("#call-status") == "Incoming video call"
        b.find("#call-accept")
        b.find("#call-decline")
        self.wait_phase(a, "ringing", "Alice to hear it ring")
        assert a.text_of("#call-status") == "Ringing…"
        b.screenshot("calls-01-incoming")

        b.click("#call-accept")
        for browser in (a, b):
            browser.wait(lambda d: browser.js("return window.__courierCall && window.__courierCall.connectionState") == "connected",
                         "the connection to be connected", 20)
            browser.wait(lambda d: d.find_element(By.ID, "call-connection").get_attribute("data-state") == "connected",
                         "the screen to say connected")
            self.wait_phase(browser, "active", "the call to be on")

        # Media flow both ways, audio and video, and through the relay on both sides.
        before = {browser.name: self.stats(browser) for browser in (a, b)}
        time.sleep(3)
        for browser in (a, b):
            after = self.stats(browser)
            for kind in ("audio", "video"):
                grew = after["inbound"].get(kind, 0) - before[browser.name]["inbound"].get(kind, 0)
                assert grew > 0, f"{browser.name}: {kind} bytes received must grow (before {before[browser.name]}, after {after})"
            assert after["local"] and after["local"]["type"] == "relay", f"{browser.name}: the local candidate must be a relay one: {after}"
            assert after["remote"] and after["remote"]["type"] == "relay", f"{browser.name}: the remote candidate must be a relay one: {after}"
            print(f"  {browser.name}: relay {after['local']['address']} ↔ relay {after['remote']['address']}, received {after['inbound']}")
        b.wait(lambda d: d.find_element(By.ID, "call-remote-video").is_displayed(), "Bob to see Alice's video")
        a.wait(lambda d: d.find_element(By.ID, "call-local-video").is_displayed(), "Alice's own small picture")
        assert b.js("const v = document.getElementById('call-remote-video'); return v.videoWidth > 0 && !v.paused"), "the remote video plays"

        # Alice mutes: Bob's screen says so.
        a.click("#call-mute")
        a.wait(lambda d: d.find_element(By.ID, "call-mute").get_attribute("aria-pressed") == "true", "Alice's mute button to be pressed")
        b.wait(lambda d: d.find_element(By.ID, "call-screen").get_attribute("data-remote-muted") == "true"
               and "microphone is off" in d.find_element(By.ID, "call-remote-state").text, "Bob to see that Alice muted")
        # The timer runs.
        first = seconds_of(b.text_of("#call-timer"))
        b.wait(lambda d: seconds_of(d.find_element(By.ID, "call-timer").text) >= first + 1, "the timer to run")
        a.screenshot("calls-02-in-call-alice")
        b.screenshot("calls-02-in-call-bob")
        # Alice's camera off and on again: Bob's screen follows.
        a.click("#call-camera")
        b.wait(lambda d: d.find_element(By.ID, "call-screen").get_attribute("data-remote-camera-off") == "true"
               and not d.find_element(By.ID, "call-remote-video").is_displayed()
               and "camera are off" in d.find_element(By.ID, "call-remote-state").text, "Bob to see that Alice's camera is off")
        a.click("#call-camera")
        b.wait(lambda d: d.find_element(By.ID, "call-remote-video").is_displayed(), "Alice's picture back on Bob's screen")
        # Made small, the chats show around the call.
        b.click("#call-resize")
        b.wait(lambda d: "minimized" in d.find_element(By.ID, "call-screen").get_attribute("class")
               and d.find_element(By.ID, "composer-input").is_displayed(), "the call screen to be small")
        b.screenshot("calls-02-in-call-small")
        b.click("#call-resize")
        # A second tab of Bob's (the same session: "this device" to the server) does not show the
        # call as its own: the tab that holds it says so.
        first_tab = b.driver.current_window_handle
        b.driver.switch_to.new_window("tab")
        b.open("/")
        self.online(b)
        time.sleep(1)
        assert self.phase(b) is None, "a sibling tab does not take over the call"
        b.check_console()
        b.driver.close()
        b.driver.switch_to.window(first_tab)
        assert b.js("return window.__courierCall.connectionState") == "connected", "the call goes on in the first tab"

        # Alice hangs up: both screens close, the media stop, the lines are in the DM.
        for browser in (a, b):
            browser.js("window.__testEndedCall = window.__courierCall")
        a.click("#call-hangup")
        self.wait_phase(b, ("ended", None), "Bob's call to end")
        for browser in (a, b):
            browser.wait(lambda d: browser.js("return window.__courierCall === null"), "no call to be exposed any more")
            stopped = browser.js("""const pc = window.__testEndedCall; delete window.__testEndedCall;
                return pc.signalingState === 'closed' && pc.getSenders().every((s) => !s.track || s.track.readyState === 'ended')""")
            assert stopped, f"{browser.name}: the connection is closed and every local track stopped"
            browser.wait(lambda d: self.phase(browser) is None, "the call screen to close", 10)
        self.wait_call_line(a, r"Outgoing call · 0:\d\d")
        self.wait_call_line(b, r"Incoming call · 0:\d\d")
        print(f"  lines: {self.call_lines(a)[-1]!r} / {self.call_lines(b)[-1]!r}")
        a.wait(lambda d: "Outgoing call · 0:" in d.find_element(By.CSS_SELECTOR, f".chat-item[data-chat-id='{self.chat_id}'] .chat-item-preview").text,
               "Alice's chat list to show the call")

    def step_declined(self):
        a, b = self.alice, self.bob
        a.click("#call-button")
        self.wait_phase(b, "incoming", "Bob's page to ring")
        assert b.text_of("#call-status") == "Incoming call"
        b.click("#call-decline")
        self.wait_notice(a, "Declined")
        self.wait_phase(b, (None, "ended"), "Bob's screen to close")
        self.wait_call_line(a, "Declined")
        self.wait_call_line(b, "Declined call")

    def step_cancelled(self):
        a, b = self.alice, self.bob
        a.click("#call-button")
        self.wait_phase(b, "incoming", "Bob's page to ring")
        self.wait_phase(a, "ringing", "Alice to hear it ring")
        a.click("#call-hangup")
        self.wait_notice(a, "Call cancelled", close=False)
        self.wait_notice(b, "Missed call")
        self.wait_call_line(a, "Cancelled call")
        self.wait_call_line(b, "Missed call")

    def step_missed(self):
        """Nobody answers for 30 s; meanwhile a second tab of Bob's, opened during the ringing,
        rings too (it learns of the call from /calls/current), and stops with the first."""
        a, b = self.alice, self.bob
        a.click("#call-button")
        started = time.time()
        self.wait_phase(b, "incoming", "Bob's page to ring")
        first_tab = b.driver.current_window_handle
        b.driver.switch_to.new_window("tab")
        b.open("/")
        self.online(b)
        self.wait_phase(b, "incoming", "Bob's second tab to ring too")
        assert b.text_of("#call-peer-name") == self.alice_name
        b.screenshot("calls-03-incoming-second-tab")
        self.wait_phase(a, "ended", "the call to go unanswered", RING_SECONDS + 15)
        waited = time.time() - started
        assert waited >= RING_SECONDS - 1, f"the call ended after {waited:.1f} s, before the server's {RING_SECONDS} s"
        assert a.text_of("#call-status") == "No answer"
        self.wait_phase(b, (None, "ended"), "the second tab to stop ringing")
        b.check_console()
        b.driver.close()
        b.driver.switch_to.window(first_tab)
        self.wait_phase(b, None, "the first tab to stop ringing")
        self.wait_call_line(a, "No answer")
        self.wait_call_line(b, "Missed call")
        b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, f".chat-item[data-chat-id='{self.chat_id}'] .call-preview.missed"),
               "Bob's chat list to show the missed call")
        b.screenshot("calls-04-call-lines")
        lines_a, lines_b = self.call_lines(a), self.call_lines(b)
        assert len(lines_a) == len(lines_b) == 4, (lines_a, lines_b)
        print(f"  Alice's lines: {lines_a}\n  Bob's lines:   {lines_b}")

    # -- runner -------------------------------------------------------------------------------

    def run(self):
        steps = [
            ("client modules: call lines and notices worded for each side", self.step_module_checks),
            ("coturn template: loopback peers refused, altered and expired credentials refused, the exception passes", self.step_turn_template),
            ("register two people, relay all calls (settings)", self.step_register_and_relay),
            ("no call buttons in a group; Alice opens a DM with Bob, which has them", self.step_open_dm),
            ("video call through the relay: ring, accept, connected, media both ways, mute, timer, hang up", self.step_video_call),
            ("a declined call", self.step_declined),
            ("a cancelled call", self.step_cancelled),
            ("a missed call (30 s), ringing in a tab opened meanwhile too", self.step_missed),
        ]
        passed = failed = 0
        started = time.time()
        try:
            self.server.start()
            self.alice = Browser("alice", self.server.base, self.args.output)
            self.bob = Browser("bob", self.server.base, self.args.output)
            for name, step in steps:
                step_started = time.time()
                try:
                    step()
                    for browser in (self.alice, self.bob):
                        browser.check_console()
                except Exception as error:  # noqa: BLE001 - report, keep artefacts, stop
                    failed += 1
                    print(f"FAIL {name}: {error}")
                    traceback.print_exc()
                    for browser in (self.alice, self.bob):
                        try:  # artefacts for the post-mortem; never mask the failure itself
                            browser.screenshot(f"calls-failure-{browser.name}")
                            with open(os.path.join(self.args.output, f"calls-failure-{browser.name}.html"), "w") as file:
                                file.write(browser.driver.page_source)
                            browser.check_console()
                        except ConsoleErrors as console:
                            print(console)
                        except Exception as artefact_error:  # noqa: BLE001
                            print(f"(no artefacts from {browser.name}: {artefact_error})")
                    break
                passed += 1
                print(f"ok   {name} ({time.time() - step_started:.1f} s)")
        finally:
            for browser in (self.alice, self.bob):
                if browser:
                    browser.quit()
            self.server.cleanup()
            self.turn.stop()
            self.telegram.stop()
            for name in ("turnserver.out", "turnserver.log"):
                if os.path.exists(os.path.join(self.folder, name)):
                    shutil.copyfile(os.path.join(self.folder, name), os.path.join(self.args.output, name))
            shutil.rmtree(self.folder, ignore_errors=True)
        skipped = len(steps) - passed - failed
        print(f"screenshots and logs in {self.args.output}; {time.time() - started:.1f} s in all")
        print(f"calls-e2e: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
        return failed == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("COURIER_BINARY", ".build/debug/courier"), help="the courier binary")
    parser.add_argument("--output", default="test-output/calls", help="folder for screenshots and logs")
    parser.add_argument("--web-dir", default=os.path.join(ROOT, "Sources", "CourierServer", "Web"), help="serve this web folder (default: the source folder)")
    args = parser.parse_args()
    if not os.path.exists(args.server):
        sys.exit(f"calls-e2e: no server binary at {args.server}")
    for tool in ("turnserver", "turnutils_uclient"):
        if not shutil.which(tool):
            sys.exit(f"calls-e2e: {tool} not found (apt-get install coturn)")
    # A TERM (a CI timeout, say) unwinds like Ctrl-C, so coturn, the server and the browsers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(0 if Scenario(args).run() else 1)


if __name__ == "__main__":
    main()
