#!/usr/bin/env python3
"""End-to-end test of the Courier web client in a real browser (Debian's chromium, headless).

It starts the real server binary on a free port with a fresh data folder (and a fake of
Telegram's Bot API), drives two separate browser sessions (Alice and Bob) through the app like
people would: accounts, DMs, groups, channels, premium, settings and 2FA, Telegram references,
history paging, phone width, a network drop, a killed and restarted server, media (a photo, an
album dropped on the page, a voice note from chromium's fake microphone, a file), a bot (made in
Settings, played by raw Bot API calls: its command menu, inline buttons and their answers), two
tabs. It saves
screenshots of the main screens and fails on any browser console error or warning except the few
a step expects (failed connections while the server is down, say), matched narrowly.

    python3 Tests/WebClient/e2e.py --server .build/debug/courier [--output test-output/web]
                                   [--web-dir Sources/CourierServer/Web]

Exits 0 when every step passed; prints `web-e2e: N passed, N failed` as its last line.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zlib

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from courier_server import CourierServer  # noqa: E402 - after the path is set
from fake_telegram import BOT_USERNAME, FakeTelegram  # noqa: E402
from raw_bot import RawBot, bot_api  # noqa: E402

WAIT = 15  # seconds for any single UI condition
DESKTOP = (1280, 800)
PHONE = (390, 844)
PASSWORD = "correct horse battery"


# ------------------------------------------------------------------------------------------------
# The server


# ------------------------------------------------------------------------------------------------
# A browser session


class ConsoleErrors(AssertionError):
    pass


class Browser:
    """One person's browser (its own profile, so its own localStorage and session)."""

    def __init__(self, name, base, output):
        self.name = name
        self.base = base
        self.output = output
        self.allowed = []  # regexes of console errors expected right now
        options = Options()
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         f"--window-size={DESKTOP[0]},{DESKTOP[1]}", "--lang=en-US",
                         # A microphone that needs no permission prompt and plays a beep: voice notes.
                         "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--mute-audio"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        browser_binary = os.environ.get("CHROMIUM") or shutil.which("chromium")
        if browser_binary:
            options.binary_location = browser_binary  # Debian's chromium; nothing is downloaded
        self.driver = webdriver.Chrome(service=Service(find_chromedriver()), options=options)
        self.viewport(*DESKTOP)

    def viewport(self, width, height):
        """Sets the page's viewport exactly (the window size would include browser chrome)."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600,
        })

    def open(self, path="/"):
        self.driver.get(self.base + path)

    def wait(self, condition, message, timeout=WAIT):
        try:
            return WebDriverWait(self.driver, timeout, ignored_exceptions=[StaleElementReferenceException]).until(condition)
        except TimeoutException:
            raise AssertionError(f"{self.name}: timed out waiting for {message}") from None

    def find(self, css, timeout=WAIT):
        return self.wait(lambda d: visible(d, css), f"{css} to be visible", timeout)

    def click(self, css):
        """Clicks the visible element matching `css`. Views rebuild some elements when state
        changes (the chat list on presence, a row on its tick), so a stale one is found again."""
        for attempt in range(5):
            try:
                self.find(css).click()
                return
            except StaleElementReferenceException:
                if attempt == 4:
                    raise

    def type(self, css, text, enter=False):
        element = self.find(css)
        element.clear()
        element.send_keys(text)
        if enter:
            element.send_keys(Keys.ENTER)
        return element

    def text_of(self, css):
        return self.find(css).text

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def js_async(self, script, *args):
        """Runs `script` in the page; it ends by calling `done(result)`."""
        return self.driver.execute_async_script("const done = arguments[arguments.length - 1];\n" + script, *args)

    def screenshot(self, name):
        path = os.path.join(self.output, f"{name}.png")
        self.driver.save_screenshot(path)
        return path

    def check_console(self):
        """Fails on any console error (or warning) that is not expected right now."""
        problems = []
        for entry in self.driver.get_log("browser"):
            if entry["level"] not in ("SEVERE", "WARNING"):
                continue
            if any(re.search(pattern, entry["message"]) for pattern in self.allowed):
                continue
            problems.append(f"{entry['level']} {entry['source']}: {entry['message']}")
        if problems:
            raise ConsoleErrors(f"{self.name}: browser console:\n  " + "\n  ".join(problems))

    def quit(self):
        try:
            self.driver.quit()
        except Exception:  # noqa: BLE001 - best effort at the end
            pass


def find_chromedriver():
    for candidate in (os.environ.get("CHROMEDRIVER"), "/usr/bin/chromedriver", shutil.which("chromedriver")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise RuntimeError("chromedriver not found (apt-get install chromium-driver)")


def visible(driver, css):
    for element in driver.find_elements(By.CSS_SELECTOR, css):
        if element.is_displayed():
            return element
    return False


def message_texts(driver):
    """The texts of all shown messages, read in one go in the page (rows may be rebuilt meanwhile)."""
    return driver.execute_script(
        "return [...document.querySelectorAll('#message-list .message .message-text')].map((e) => e.textContent)")


def find_message(driver, text):
    """The message row whose text is exactly `text`, or False (rows are replaced when their
    state changes, e.g. pending → sent, so look them up again rather than keeping them)."""
    try:
        for row in driver.find_elements(By.CSS_SELECTOR, "#message-list .message"):
            texts = row.find_elements(By.CSS_SELECTOR, ".message-text")
            if texts and texts[0].text == text:
                return row
    except StaleElementReferenceException:
        pass  # rebuilt while we looked: the caller's wait looks again
    return False


def message_row(browser, text):
    return browser.wait(lambda d: find_message(d, text), f"a message {text!r}")


def message_status(browser, text, statuses):
    """Waits until the message `text` has one of `statuses` (pending, sent, read, failed)."""
    browser.wait(lambda d: (row := find_message(d, text)) and row.get_attribute("data-status") in statuses,
                 f"the message {text!r} to be {' or '.join(statuses)}")


def png(width, height):
    """A PNG (RGB, 8 bits) of a gradient with a checkerboard on it, made here without any library."""
    checker = []
    for parity in (0, 1):
        row = bytearray(width * 3)
        row[0::3] = bytes(x * 255 // width for x in range(width))
        row[2::3] = bytes(200 if (x // 50 + parity) % 2 else 60 for x in range(width))
        checker.append(row)
    raw = bytearray()
    for y in range(height):
        row = bytearray(checker[(y // 50) % 2])
        row[1::3] = bytes([y * 255 // height]) * width
        raw += b"\x00" + row  # filter type 0 (none) per scanline

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw), 6)) + chunk(b"IEND", b"")


def media_rows(driver):
    """How many message rows show media, read in the page."""
    return driver.execute_script("return document.querySelectorAll('#message-list .message .message-media').length")


# Fetches a URL in the page (as an <img> or a download link would: no Authorization header) and
# answers its status, type, size and SHA-256.
FETCH_AND_HASH = """
fetch(arguments[0]).then(async (response) => {
  const bytes = await response.arrayBuffer();
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  done({
    status: response.status,
    type: response.headers.get('content-type'),
    disposition: response.headers.get('content-disposition'),
    size: bytes.byteLength,
    sha256: Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join(''),
  });
}, (error) => done({ error: String(error) }));
"""


def totp(secret, step_offset=0):
    """The RFC 6238 code (SHA-1, 30 s, 6 digits) of `secret` for the current time step plus `step_offset`."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int(time.time() // 30) + step_offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


# ------------------------------------------------------------------------------------------------
# The scenario


class Scenario:
    def __init__(self, args):
        self.args = args
        os.makedirs(args.output, exist_ok=True)
        self.telegram = FakeTelegram().start()
        self.server = CourierServer(os.path.abspath(args.server), args.output, self.telegram.url, name="courier-web-e2e", web_dir=args.web_dir and os.path.abspath(args.web_dir))
        self.suffix = f"{random.randint(0, 999999):06d}"
        self.alice_name = f"alice_{self.suffix}"
        self.bob_name = f"bob_{self.suffix}"
        self.channel_username = f"news_{self.suffix}"
        self.alice = None
        self.bob = None
        self.alice_totp_secret = None

    # -- steps --------------------------------------------------------------------------------

    def register(self, browser, username, phone):
        browser.open("/")
        browser.find("#sign-in-form")
        if browser is self.alice:
            browser.screenshot("01-sign-in")
        browser.click("#sign-in-form .link-button")
        browser.type("#register-form input[name=phone]", phone)
        browser.type("#register-form input[name=username]", username)
        browser.type("#register-form input[name=password]", PASSWORD)
        browser.click("#register-form button[type=submit]")
        browser.wait(lambda d: d.find_element(By.ID, "connection-state").get_attribute("data-state") == "online",
                     "the connection to be online")
        assert browser.text_of("#profile-link .profile-name") == username, "the profile link shows the username"

    def step_register(self):
        self.register(self.alice, self.alice_name, f"+1415{self.suffix}1")
        self.register(self.bob, self.bob_name, f"+1415{self.suffix}2")

    def open_menu_item(self, browser, label):
        browser.click("#new-chat-button")
        browser.wait(lambda d: [b for b in d.find_elements(By.CSS_SELECTOR, ".menu .menu-item") if b.text == label],
                     f"the menu item {label}")[0].click()

    def send(self, browser, text):
        browser.type("#composer-input", text, enter=True)

    def step_direct_messages(self):
        a, b = self.alice, self.bob
        self.open_menu_item(a, "New message")
        a.type("#dm-username", self.bob_name, enter=True)
        a.wait(lambda d: d.find_element(By.ID, "conversation-title").text == self.bob_name, "the DM with Bob to open")
        self.send(a, "Hello Bob!")
        message_status(a, "Hello Bob!", ("sent", "read"))

        # Bob: the chat appears in his list, live, with an unread badge; opening it shows the message.
        b.find(f".chat-item[aria-label^='{self.alice_name}']")
        b.wait(lambda d: "1" in [e.text for e in d.find_elements(By.CSS_SELECTOR, ".chat-item .unread-badge")], "an unread badge")
        b.click(f".chat-item[aria-label^='{self.alice_name}']")
        message_row(b, "Hello Bob!")
        # Bob read it: Alice's tick turns double, live.
        message_status(a, "Hello Bob!", ("read",))

        # Typing indicator, then Bob's answer, live on Alice's side.
        b.find("#composer-input").send_keys("Hi Al")
        a.wait(lambda d: "typing" in d.find_element(By.ID, "conversation-subtitle").text, "Bob's typing indicator")
        b.find("#composer-input").send_keys("ice, nice to see you here", Keys.ENTER)
        message_row(a, "Hi Alice, nice to see you here")

        # Edit: Alice changes her first message; Bob sees the new text and the "edited" mark.
        self.message_action(a, "Hello Bob!", "Edit")
        composer = a.find("#composer-input")
        a.wait(lambda d: composer.get_attribute("value") == "Hello Bob!", "the composer to hold the text to edit")
        composer.send_keys(Keys.END, " How are you?", Keys.ENTER)
        b.wait(lambda d: (row := find_message(d, "Hello Bob! How are you?")) and row.find_elements(By.CSS_SELECTOR, ".edited"),
               "Bob to see the edited message, marked as edited")

        # Reply: Alice answers Bob's message; both see the quote.
        self.message_action(a, "Hi Alice, nice to see you here", "Reply")
        a.find(".composer-context")
        self.send(a, "Glad you made it")
        for browser in (a, b):
            browser.wait(lambda d: (row := find_message(d, "Glad you made it"))
                         and "Hi Alice, nice to see you here" in row.find_element(By.CSS_SELECTOR, ".reply-quote").text,
                         "the reply, quoting Bob's message")

        # Delete for everyone: Bob sees a tombstone.
        self.send(a, "Oops, wrong chat")
        message_row(b, "Oops, wrong chat")
        self.message_action(a, "Oops, wrong chat", "Delete")
        a.wait(lambda d: [x for x in d.find_elements(By.CSS_SELECTOR, "dialog .button") if x.text == "Delete for everyone"],
               "the delete dialog")[0].click()
        for browser in (a, b):
            browser.wait(lambda d: "Oops, wrong chat" not in message_texts(d), f"{browser.name}: the message to be deleted")
            browser.find("#message-list .message.deleted")
        self.send(b, "See you in the group")
        message_row(a, "See you in the group")
        a.screenshot("02-chat-list-and-conversation")

    def step_reactions_pins_search(self):
        a, b = self.alice, self.bob
        # Alice reacts to Bob's message from its menu; Bob sees the count live, and adds his by
        # pressing it; Alice sees two.
        self.message_action(a, "See you in the group", "React")
        a.wait(lambda d: [x for x in d.find_elements(By.CSS_SELECTOR, ".menu .menu-item") if x.text == "👍"], "the quick reactions")[0].click()
        reaction = ".reaction[data-emoji='👍']"
        a.wait(lambda d: (row := find_message(d, "See you in the group")) and row.find_elements(By.CSS_SELECTOR, reaction + ".mine"),
               "Alice's own reaction, marked as hers")
        b.wait(lambda d: (row := find_message(d, "See you in the group"))
               and [x for x in row.find_elements(By.CSS_SELECTOR, reaction + " .reaction-count") if x.text == "1"], "Alice's reaction, live on Bob's side")
        message_row(b, "See you in the group").find_element(By.CSS_SELECTOR, reaction).click()
        a.wait(lambda d: (row := find_message(d, "See you in the group"))
               and [x for x in row.find_elements(By.CSS_SELECTOR, reaction + " .reaction-count") if x.text == "2"], "both reactions, live on Alice's side")

        # Alice pins a message; the pin shows above Bob's conversation, live; clicking it goes to it.
        self.message_action(a, "Glad you made it", "Pin")
        b.wait(lambda d: d.find_element(By.ID, "pin-bar").is_displayed() and "Glad you made it" in d.find_element(By.ID, "pin-text").text,
               "the pinned message above Bob's conversation")
        b.click("#pin-bar")
        b.wait(lambda d: (row := find_message(d, "Glad you made it")) and "highlight" in row.get_attribute("class"), "the pinned message, shown")
        a.screenshot("02b-reactions-and-pin")

        # Bob searches his messages by a word of one of them (case and accents aside) and opens the hit.
        b.type("#chat-search", "NICE tö")
        hit = b.wait(lambda d: [x for x in d.find_elements(By.CSS_SELECTOR, "#search-hits .search-hit") if "nice to see you here" in x.text],
                     "the message found by search")[0]
        b.screenshot("02c-search")
        hit.click()
        b.wait(lambda d: (row := find_message(d, "Hi Alice, nice to see you here")) and "highlight" in row.get_attribute("class"),
               "the message found, shown in its chat")
        b.find("#chat-search").send_keys(Keys.ESCAPE)
        b.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "#search-hits .search-hit"), "the search to clear")

    def message_action(self, browser, text, action):
        """Opens a message's actions menu and picks `action`. A row is rebuilt when its state
        changes (e.g. its tick turns to read), so a stale row is looked up again."""
        for attempt in range(5):
            try:
                row = message_row(browser, text)
                browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
                button = row.find_element(By.CSS_SELECTOR, ".message-actions")
                browser.driver.execute_script("arguments[0].focus()", button)  # focus shows it, as hover does
                button.click()
                break
            except StaleElementReferenceException:
                if attempt == 4:
                    raise
        browser.wait(lambda d: [b for b in d.find_elements(By.CSS_SELECTOR, ".menu .menu-item") if b.text == action],
                     f"the {action} action")[0].click()

    def step_group(self):
        a, b = self.alice, self.bob
        self.open_menu_item(a, "New group")
        a.type("#group-name", "Weekend plans")
        a.type("#group-member", self.bob_name, enter=True)
        a.wait(lambda d: self.bob_name in d.find_element(By.ID, "group-members").text, "Bob to be added as a member")
        a.click("#create-group-button")
        a.wait(lambda d: d.find_element(By.ID, "conversation-title").text == "Weekend plans", "the group to open")
        assert "2 members" in a.text_of("#conversation-subtitle")
        self.send(a, "Who is in for a hike on Saturday?")
        message_row(a, "Who is in for a hike on Saturday?")
        b.click(".chat-item[aria-label^='Weekend plans']")
        message_row(b, "Who is in for a hike on Saturday?")
        self.send(b, "Count me in!")
        a.wait(lambda d: (row := find_message(d, "Count me in!"))
               and row.find_element(By.CSS_SELECTOR, ".message-author").text == self.bob_name, "Bob's message, with his name")
        # Members and admins: Alice (owner) makes Bob an admin.
        a.click("#chat-info-button")
        a.find("#member-list [data-user-id] .member-name")
        a.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#member-list .member-row")) == 2, "two members listed")
        make_admin = a.wait(lambda d: [x for x in d.find_elements(By.CSS_SELECTOR, "#member-list button") if x.text == "Make admin"], "a Make admin button")[0]
        make_admin.click()
        a.wait(lambda d: [x for x in d.find_elements(By.CSS_SELECTOR, "#member-list .member-row[data-role=admin]")], "Bob to be an admin")
        a.screenshot("03-group-members")
        a.find("dialog").send_keys(Keys.ESCAPE)
        a.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog[open]"), "the dialog to close on Escape")
        a.screenshot("03-group")
        # Bob leaves: the group goes from his list, and Alice's count follows live.
        b.click("#chat-info-button")
        b.click("#leave-button")
        b.wait(lambda d: [x for x in d.find_elements(By.CSS_SELECTOR, "dialog[open]")[-1].find_elements(By.CSS_SELECTOR, ".button")
                          if x.text == "Leave group" and x.get_attribute("id") != "leave-button"], "the confirmation")[0].click()
        b.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, ".chat-item[aria-label^='Weekend plans']"), "the group to leave Bob's list")
        a.wait(lambda d: d.find_element(By.ID, "conversation-subtitle").text == "1 member", "Alice's member count to follow")

    def step_channel(self):
        a, b = self.alice, self.bob
        self.open_menu_item(a, "New channel")
        a.type("#channel-name", "Courier News")
        a.type("#channel-username", self.channel_username)
        a.type("#channel-description", "Release notes and tips")
        a.click("#create-channel-button")
        a.wait(lambda d: d.find_element(By.ID, "conversation-title").text == "Courier News", "the channel to open")
        self.send(a, "Welcome to Courier News!")
        a.wait(lambda d: message_row(a, "Welcome to Courier News!"), "the post")
        a.screenshot("04-channel")

        self.open_menu_item(b, "Find a channel")
        b.type("#find-channel-username", self.channel_username, enter=True)
        b.find("#channel-result .card")
        b.click("#subscribe-button")
        b.wait(lambda d: d.find_element(By.ID, "conversation-title").text == "Courier News", "Bob's channel view")
        message_row(b, "Welcome to Courier News!")
        assert b.find("#read-only-bar").is_displayed(), "subscribers cannot post"
        self.send(a, "Second post, live")
        message_row(b, "Second post, live")
        b.screenshot("04-channel-subscriber")

    def chat_menu(self, browser, title, action):
        """Right-clicks a chat in the list and picks `action` from its menu."""
        item = browser.find(f".chat-list .chat-item[aria-label^='{title}']")
        ActionChains(browser.driver).context_click(item).perform()
        browser.wait(lambda d: [x for x in d.find_elements(By.CSS_SELECTOR, ".menu .menu-item") if x.text == action],
                     f"the chat menu item {action}")[0].click()

    def chat_label(self, browser, title):
        return browser.find(f".chat-list .chat-item[aria-label^='{title}']").get_attribute("aria-label")

    def step_chat_list_and_notifications(self):
        a, b = self.alice, self.bob
        alice_token = a.js("return localStorage.getItem('courier.token')")
        bob_token = b.js("return localStorage.getItem('courier.token')")
        bob_id = b.js("return localStorage.getItem('courier.user_id')")
        planning = self.server.api("POST", "/chats", {"type": "group", "name": "Planning", "member_ids": [bob_id]}, token=alice_token)["id"]
        b.find(".chat-list .chat-item[aria-label^='Planning']")

        # Bob mutes the group, and pins the channel to the top of his list.
        self.chat_menu(b, "Planning", "Mute forever")
        b.wait(lambda d: "muted" in self.chat_label(b, "Planning"), "Planning to show as muted")
        self.chat_menu(b, "Courier News", "Pin to top")
        b.wait(lambda d: d.find_element(By.CSS_SELECTOR, ".chat-list li:first-child .chat-item").get_attribute("aria-label").startswith("Courier News"),
               "the pinned channel at the top")

        # With notifications allowed and his tab in the background, a message in the DM notifies
        # Bob; one in the muted group does not. The unread count shows in the title.
        b.driver.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["notifications"], "origin": self.server.base})
        b.js("""
            window.__notified = [];
            const Real = window.Notification;
            window.Notification = class extends Real { constructor(title, options) { super(title, options); window.__notified.push(title); } };
        """)
        b.click(".chat-list .chat-item[aria-label^='Courier News']")  # neither chat is open
        main_tab = b.driver.current_window_handle
        b.driver.switch_to.new_window("tab")
        b.driver.get("about:blank")
        try:
            self.server.api("POST", "/messages", {"chat_id": planning, "content": "muted chatter"}, token=alice_token)
            dm = [c for c in self.server.api("GET", "/chats", token=alice_token)["chats"] if c["type"] == "dm"][0]["id"]
            self.server.api("POST", "/messages", {"chat_id": dm, "content": "are you there?"}, token=alice_token)
            time.sleep(1.5)
        finally:
            b.driver.close()
            b.driver.switch_to.window(main_tab)
        notified = b.js("return window.__notified")
        assert notified == [self.alice_name], f"one notification, for the DM (got {notified})"
        b.wait(lambda d: re.match(r"\(\d+\) ", d.title), "the unread count of unmuted chats in the title")

        # A mention in the muted group still shows its badge; it opens the chat at the mention.
        self.server.api("POST", "/messages", {"chat_id": planning, "content": f"@{self.bob_name} can you book it?"}, token=alice_token)
        badge = b.find(".chat-list .chat-item[aria-label^='Planning'] .mention-badge")
        badge.click()
        b.wait(lambda d: (row := find_message(d, f"@{self.bob_name} can you book it?")) and "highlight" in row.get_attribute("class"), "the mention, shown")

        # A draft follows Bob (kept on the server), and shows in his list once he leaves the chat.
        b.find("#composer-input").send_keys("half-written plan")
        b.wait(lambda d: self.server.api("GET", f"/chats/{planning}", token=bob_token).get("draft") == "half-written plan", "the draft on the server")
        b.click(".chat-list .chat-item[aria-label^='Courier News']")
        b.wait(lambda d: "Draft: half-written plan" in d.find_element(By.CSS_SELECTOR, ".chat-list .chat-item[aria-label^='Planning']").text,
               "the draft in the chat list")
        b.click(".chat-list .chat-item[aria-label^='Planning']")
        b.wait(lambda d: d.find_element(By.ID, "composer-input").get_attribute("value") == "half-written plan", "the draft back in the composer")
        b.screenshot("04b-chat-list-settings")

        # Archived: out of the list, behind one row.
        self.chat_menu(b, "Planning", "Archive")
        b.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, ".chat-list .chat-item[aria-label^='Planning']"), "Planning to leave the list")
        b.click("#archive-toggle")
        b.find(".chat-list .chat-item[aria-label^='Planning']")
        b.click("#archive-toggle")

    def step_premium(self):
        a = self.alice
        a.click("#premium-link")
        notice = a.find("#no-charge-notice")
        assert "No real charge" in notice.text
        a.wait(lambda d: d.find_element(By.ID, "premium-status").get_attribute("data-premium") == "false", "the premium status")
        a.click("button[data-plan=premium_monthly]")
        result = a.find("#purchase-result")
        assert "No real charge" in result.text, result.text
        a.find("#premium-badge")
        a.wait(lambda d: d.find_element(By.ID, "premium-status").get_attribute("data-premium") == "true", "premium to be active")
        a.screenshot("05-premium")
        a.click("#cancel-premium")
        a.find("#premium-cancelled")
        a.find("#premium-badge")  # premium lasts until the end of the period

    def step_settings(self):
        a = self.alice
        a.click("#settings-link")
        a.find("#profile-form")
        a.type("#profile-bio", "Hiking, coffee and Swift.")
        a.click("#profile-form button[type=submit]")
        a.find("#profile-form .notice.success")
        a.find("#telegram-status, #telegram-disabled")
        a.find("#session-list .session-row")
        a.click("#twofa-setup-button")
        canvas = a.find("#twofa-qr")
        uri = a.text_of("#twofa-uri")
        assert uri.startswith("otpauth://totp/"), uri
        assert int(canvas.get_attribute("width")) > 100, "the QR code is drawn"
        a.js("arguments[0].scrollIntoView({block: 'center'})", canvas)
        a.screenshot("06-settings-2fa")
        decoder = shutil.which("zbarimg")
        if decoder:
            path = os.path.join(self.args.output, "qr-code.png")
            with open(path, "wb") as file:
                file.write(canvas.screenshot_as_png)
            decoded = subprocess.run([decoder, "--quiet", "--raw", path], capture_output=True, text=True).stdout.strip()
            assert decoded == uri, f"the QR code decodes to the otpauth URI (got {decoded!r})"
        else:
            print("  (zbarimg not installed: the QR code was drawn but not decoded)")
        # Turn it on with a code from "the app" (the previous time step: the sign-in at the end uses the current one).
        self.alice_totp_secret = a.text_of("#twofa-secret")
        a.type("#twofa-code", totp(self.alice_totp_secret, -1), enter=True)
        a.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#recovery-codes li")) == 10, "ten recovery codes")
        a.click("#settings-2fa .button")  # Done
        a.wait(lambda d: d.find_element(By.ID, "twofa-status").text.startswith("On"), "two-step verification on")

    def step_telegram_reference(self):
        """Bob links Telegram; Alice's message reaches him as a reference-only notice; after signing
        out and in again through the notice's link, Bob's browser shows the message."""
        a, b = self.alice, self.bob
        b.click("#settings-link")
        b.click("#telegram-link-button")
        link = b.find("#telegram-deep-link").get_attribute("href")
        prefix = f"https://t.me/{BOT_USERNAME}?start="
        assert link.startswith(prefix), link
        telegram_chat = 777000 + random.randint(0, 999)
        self.telegram.user_says(telegram_chat, "/start " + link[len(prefix):])
        self.telegram.wait_for_sent(lambda m: m.get("chat_id") == telegram_chat and "Linked" in m.get("text", ""), description="confirmation")
        b.click("#telegram-linked-button")
        select = b.find("#relay-mode")
        b.js("arguments[0].value = 'always'; arguments[0].dispatchEvent(new Event('change'))", select)
        b.wait(lambda d: d.find_element(By.ID, "relay-mode").get_attribute("value") == "always"
               and "Linked" in d.find_element(By.ID, "telegram-status").text, "the relay mode to be saved")
        b.screenshot("07-settings-telegram")

        a.click(f".chat-item[aria-label^='{self.bob_name}']")
        secret = f"Meet at the north gate {self.suffix}"
        self.send(a, secret)
        notice = self.telegram.wait_for_sent(
            lambda m: m.get("chat_id") == telegram_chat and "/r/" in json.dumps(m.get("reply_markup", {})), description="notice")
        assert secret not in json.dumps(notice), "the notice must not carry the message"
        url = notice["reply_markup"]["inline_keyboard"][0][0]["url"]
        assert url.startswith(self.server.base + "/r/"), url

        # Signed out, the link asks to sign in first, then opens the message.
        b.click("#sign-out-button")
        b.find("#sign-in-form")
        b.driver.get(url)
        assert "Sign in to open the message" in b.text_of(".auth-subtitle")
        b.type("#sign-in-form input[name=identifier]", self.bob_name)
        b.type("#sign-in-form input[name=password]", PASSWORD, enter=True)
        b.find("#reference-message")
        b.wait(lambda d: secret in d.find_element(By.ID, "reference-message").text, "the referenced message")
        b.screenshot("08-reference")
        b.click("#reference-open-chat")
        b.wait(lambda d: d.find_element(By.ID, "conversation-title").text == self.alice_name, "the chat of the referenced message")
        message_row(b, secret)

    def step_module_checks(self):
        """The pure client modules (timeline merge rules, QR encoder, formatting, media helpers,
        incremental SHA-256), in the page."""
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "module_checks.js")) as file:
            script = file.read()
        self.alice.open("/")
        self.alice.find("#sign-in-form")
        result = self.alice.driver.execute_async_script(script)
        assert not result["failures"], "module checks failed: " + "; ".join(result["failures"])

    def step_history(self):
        """Carol (over REST) sends Alice 70 messages: the chat appears live with its unread count,
        opens on the newest page, and scrolling up loads the older ones, each once, in order."""
        a = self.alice
        carol = self.server.api("POST", "/auth/register", {
            "phone": f"+1415{self.suffix}3", "username": f"carol_{self.suffix}", "password": PASSWORD})
        alice_id = a.js("return localStorage.getItem('courier.user_id')")
        chat = self.server.api("POST", "/chats", {"type": "dm", "user_id": alice_id}, carol["token"])
        total = 70
        for i in range(1, total + 1):
            self.server.api("POST", "/messages", {"chat_id": chat["id"], "content": f"History {i}", "client_msg_id": f"h-{i}"}, carol["token"])
        a.find(f".chat-item[aria-label^='carol_{self.suffix}']")
        a.wait(lambda d: d.find_element(By.CSS_SELECTOR, f".chat-item[data-chat-id='{chat['id']}'] .unread-badge").text == str(total),
               f"an unread badge of {total}")
        a.click(f".chat-item[data-chat-id='{chat['id']}']")
        message_row(a, f"History {total}")
        assert not find_message(a.driver, "History 1"), "only the newest page is loaded at first"

        def scrolled_to_beginning(driver):
            driver.execute_script("document.getElementById('messages').scrollTop = 0")
            return find_message(driver, "History 1")
        a.wait(scrolled_to_beginning, "older messages to load when scrolling up")
        texts = [t for t in message_texts(a.driver) if t.startswith("History ")]
        assert texts == [f"History {i}" for i in range(1, total + 1)], f"history in order, each once: {texts}"
        a.wait(lambda d: "beginning" in d.find_element(By.CSS_SELECTOR, ".older-status").text, "the beginning of the chat")
        a.screenshot("14-history")
        a.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, f".chat-item[data-chat-id='{chat['id']}'] .unread-badge"),
               "the unread badge to go once the chat is read")

    def step_reference(self):
        b = self.bob
        b.allowed = [r"/api/v1/references/not-a-real-reference .*404"]
        b.open("/r/not-a-real-reference")
        notice = b.find("#reference-unavailable")
        assert "not available" in notice.text, notice.text
        b.screenshot("09-reference-not-available")
        b.check_console()
        b.allowed = []
        b.open("/")
        b.find(".chat-item")

    def step_phone_width(self):
        a = self.alice
        a.viewport(*PHONE)
        a.open("/#/")
        a.find(".chat-item")
        assert not a.driver.find_element(By.ID, "main").is_displayed(), "phone width shows only the list"
        a.screenshot("10-phone-chat-list")
        a.click(f".chat-item[aria-label^='{self.bob_name}']")
        a.find("#composer-input")
        assert not a.driver.find_element(By.CSS_SELECTOR, ".sidebar").is_displayed(), "phone width shows only the conversation"
        a.find(".back-button")
        a.screenshot("11-phone-conversation")
        a.click(".conversation .back-button")
        a.find(".chat-item")
        a.viewport(*DESKTOP)

    def step_network_drop(self):
        """Alice's network drops (the browser goes offline): the page says so, and once the network
        is back it reconnects by itself and shows what Bob sent, edited and deleted meanwhile,
        without a reload (the update log)."""
        a, b = self.alice, self.bob
        a.driver.refresh()  # a fresh page: no history loaded yet but the DM's
        a.click(f".chat-item[aria-label^='{self.bob_name}']")
        message_row(a, "See you in the group")
        b.click(f".chat-item[aria-label^='{self.alice_name}']")
        b.find("#composer-input")
        self.send(b, "This one will go")
        message_row(a, "This one will go")
        conditions = {"latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
        a.driver.execute_cdp_cmd("Network.enable", {})
        a.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, **conditions})
        a.wait(lambda d: d.find_element(By.ID, "connection-state").get_attribute("data-state") == "offline", "the offline state")
        assert "network" in a.text_of("#connection-banner").lower()
        self.send(b, "Sent while your network was down")
        message_status(b, "Sent while your network was down", ("sent", "read"))
        assert not find_message(a.driver, "Sent while your network was down")
        # Bob edits and deletes while Alice's tab is offline.
        self.message_action(b, "See you in the group", "Edit")
        composer = b.find("#composer-input")
        b.wait(lambda d: composer.get_attribute("value") == "See you in the group", "the composer to hold the text to edit")
        composer.send_keys(Keys.END, " at five", Keys.ENTER)
        message_row(b, "See you in the group at five")
        self.message_action(b, "This one will go", "Delete")
        b.wait(lambda d: [x for x in d.find_elements(By.CSS_SELECTOR, "dialog .button") if x.text == "Delete for everyone"],
               "the delete dialog")[0].click()
        b.wait(lambda d: "This one will go" not in message_texts(d), "Bob: the message to be deleted")
        # A chat whose history is not here yet waits for the connection (asking nothing while
        # offline, so no failed request either) and loads once the network is back.
        a.click(".chat-item[aria-label^='Courier News']")
        a.wait(lambda d: "Waiting for the connection" in d.find_element(By.CSS_SELECTOR, ".older-status").text, "the waiting notice")
        a.check_console()
        a.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, **conditions})
        a.wait(lambda d: d.find_element(By.ID, "connection-state").get_attribute("data-state") == "online", "the page to reconnect")
        message_row(a, "Second post, live")
        a.click(f".chat-item[aria-label^='{self.bob_name}']")
        message_row(a, "Sent while your network was down")
        message_status(b, "Sent while your network was down", ("read",))
        # The edit and the deletion made while Alice was offline show, with no reload.
        message_row(a, "See you in the group at five")
        a.wait(lambda d: "This one will go" not in message_texts(d), "Alice: the message deleted while she was offline to go")
        texts = message_texts(a.driver)
        assert "See you in the group" not in texts, f"the old text is still shown: {texts}"

    def step_ticks_from_a_reply(self):
        """A reply is a read mark: Alice's tick turns double the moment Bob answers, though Bob's
        tab never sent a read (he answered from another device, over REST)."""
        a, b = self.alice, self.bob
        chat_id = a.js("return document.querySelector('.conversation').dataset.chatId")
        b.open("/#/")
        b.find(".chat-item")
        self.send(a, "Are you still there?")
        message_status(a, "Are you still there?", ("sent",))
        token = b.js("return localStorage.getItem('courier.token')")
        self.server.api("POST", "/messages", {"chat_id": chat_id, "content": "Yes, from my phone", "client_msg_id": f"phone-{self.suffix}"}, token)
        message_row(a, "Yes, from my phone")
        message_status(a, "Are you still there?", ("read",))

    def step_restart(self):
        a, b = self.alice, self.bob
        for browser in (a, b):
            browser.open("/")
            browser.click(f".chat-item[aria-label^='{self.bob_name if browser is a else self.alice_name}']")
            browser.wait(lambda d: d.find_element(By.ID, "connection-state").get_attribute("data-state") == "online", "online")
            browser.check_console()
        message_row(a, "See you in the group at five")
        message_row(b, "See you in the group at five")  # Bob's history is in too: no request of it meets the dead server
        # After the reload the ticks come from the chat summary (others_last_read_seq), not from live frames.
        message_status(a, "Hello Bob! How are you?", ("read",))
        # While the server is away, only failed connections to it may be logged.
        port = self.server.port
        for browser in (a, b):
            browser.allowed = [
                rf"WebSocket connection to 'ws://127\.0\.0\.1:{port}/ws\?token=[^']*&resume=1' failed",
                rf"http://127\.0\.0\.1:{port}/api/v1/users/me - Failed to load resource: net::ERR_CONNECTION_REFUSED",
            ]
        self.server.kill()
        for browser in (a, b):
            browser.wait(lambda d: d.find_element(By.ID, "connection-state").get_attribute("data-state") == "reconnecting",
                         "the page to show it is reconnecting")
            browser.find("#connection-banner")
        a.screenshot("12-reconnecting")
        self.server.start()
        # Bob's device sends over REST right away (Alice's page is likely still backing off).
        token = b.js("return localStorage.getItem('courier.token')")
        chat_id = b.js("return document.querySelector('.conversation').dataset.chatId")
        self.server.api("POST", "/messages", {"chat_id": chat_id, "content": "Sent while you were away", "client_msg_id": f"away-{self.suffix}"}, token)
        for browser in (a, b):
            browser.wait(lambda d: d.find_element(By.ID, "connection-state").get_attribute("data-state") == "online",
                         "the page to reconnect", timeout=40)
        message_row(a, "Sent while you were away")
        # And the live path works again, both ways.
        self.send(a, "Back online")
        message_row(b, "Back online")
        for browser in (a, b):
            texts = message_texts(browser.driver)
            for text in ("Sent while you were away", "Back online", "Hello Bob! How are you?"):
                assert texts.count(text) == 1, f"{browser.name}: {text!r} shown {texts.count(text)} times: {texts}"
            browser.check_console()
            browser.allowed = []
        a.screenshot("13-after-restart")

    def chat_preview(self, browser, chat_id):
        return browser.find(f".chat-item[data-chat-id='{chat_id}'] .chat-item-preview").text

    def step_media(self):
        """Alice sends Bob a photo with a caption, an album dropped on the page, a voice note
        recorded with chromium's fake microphone and a file; Bob sees each bubble, the photos load
        through their signed links, the voice note plays, and the file's link gives exactly the
        bytes that were sent. The chat list names each ("Photo, caption", "Voice message", "File")."""
        a, b = self.alice, self.bob
        chat_id = a.js("return document.querySelector('.conversation').dataset.chatId")
        assert b.js("return document.querySelector('.conversation').dataset.chatId") == chat_id, "Bob has the DM open"
        token = b.js("return localStorage.getItem('courier.token')")
        folder = tempfile.mkdtemp(prefix="courier-media-e2e-")
        try:
            self.media_photo(a, b, chat_id, token, folder)
            self.media_paste_and_album(a, b)
            self.media_voice(a, b, chat_id, token)
            self.media_file(a, b, chat_id, token, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        # The types the server derived from the first attachment, and media in attachment order.
        page = self.server.api("GET", f"/chats/{chat_id}/messages?limit=4", token=token)
        newest = sorted(page["messages"], key=lambda m: m["seq"])[-4:]
        assert [m.get("message_type") for m in newest] == ["image", "image", "audio", "file"], [m.get("message_type") for m in newest]
        for message in newest:
            assert [m["id"] for m in message.get("media", [])] == message.get("attachments"), message
        b.screenshot("17-media-conversation")

    def media_photo(self, a, b, chat_id, token, folder):
        path = os.path.join(folder, f"lake-{self.suffix}.png")
        with open(path, "wb") as file:
            file.write(png(1200, 800))
        before = media_rows(b.driver)
        a.driver.find_element(By.ID, "attach-input").send_keys(path)
        a.find("#attachment-tray .tray-item canvas.upload-thumb")
        assert a.find("#composer-input").get_attribute("placeholder").startswith("Add a caption"), "the text becomes a caption"
        a.screenshot("17-attachment-tray")
        caption = f"At the lake {self.suffix}"
        self.send(a, caption)
        a.wait(lambda d: not d.find_element(By.ID, "attachment-tray").is_displayed(), "the tray to empty")
        message_status(a, caption, ("sent", "read"))
        row = message_row(b, caption)
        assert media_rows(b.driver) == before + 1
        image = "#message-list .message:last-child .media-tile.photo img.media-image"
        b.wait(lambda d: d.execute_script(f"const i = document.querySelector({image!r}); return Boolean(i && i.complete && i.naturalWidth > 0)"),
               "the photo to load through its signed link")
        shown = b.js(f"const i = document.querySelector({image!r}); return {{src: i.currentSrc, variant: i.dataset.variant, "
                     "id: i.closest('.media-tile').dataset.mediaId, preview: Boolean(i.closest('.media-tile').querySelector('.media-preview'))}")
        assert "/media/" in shown["src"] and "sig=" in shown["src"], shown
        media = self.server.api("GET", f"/media/{shown['id']}", token=token)
        assert media["kind"] == "photo" and (media.get("width"), media.get("height")) == (1200, 800), media
        assert str(media.get("preview", "")).startswith("data:image/jpeg;base64,") and shown["preview"], "a blurred preview drawn first"
        assert shown["variant"] == "m800", f"the bubble shows m800, got {shown['variant']}"
        variant = next(v for v in media["variants"] if v["name"] == shown["variant"])
        fetched = b.js_async(FETCH_AND_HASH, shown["src"])
        assert fetched.get("status") == 200, fetched
        assert fetched["size"] == variant["size"], f"{fetched['size']} bytes through the link, the {variant['name']} variant has {variant['size']}"
        assert fetched["type"].split(";")[0] == variant["mime_type"], (fetched["type"], variant["mime_type"])
        b.wait(lambda d: self.chat_preview(b, chat_id) == f"Photo, {caption}", "the chat list to read 'Photo, <caption>'")
        # The viewer: full screen, the largest variant, Escape closes it.
        row = message_row(b, caption)
        row.find_element(By.CSS_SELECTOR, ".media-tile.photo").click()
        b.find("#media-viewer[open]")
        b.wait(lambda d: d.execute_script("const i = document.querySelector('#media-viewer .viewer-image');"
                                          "return Boolean(i && i.complete && i.naturalWidth > 0 && getComputedStyle(i).opacity === '1')"),
               "the photo in the viewer (faded in)")
        b.screenshot("18-photo-viewer")
        b.find("#media-viewer").send_keys(Keys.ESCAPE)
        b.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "#media-viewer"), "the viewer to close on Escape")

    def media_paste_and_album(self, a, b):
        """A pasted image lands in the tray and can be removed; two images dropped on the
        conversation go as one message, an album."""
        made = a.js_async("""
            const image = (w, h, hue) => new Promise((resolve) => {
              const canvas = document.createElement('canvas');
              canvas.width = w;
              canvas.height = h;
              const context = canvas.getContext('2d');
              context.fillStyle = `hsl(${hue}, 70%, 55%)`;
              context.fillRect(0, 0, w, h);
              context.fillStyle = '#fff';
              context.fillRect(w / 4, h / 4, w / 2, h / 2);
              canvas.toBlob((blob) => resolve(new File([blob], `picture-${hue}.png`, { type: 'image/png' })), 'image/png');
            });
            Promise.all([image(320, 240, 120), image(900, 600, 200), image(600, 900, 20)]).then(([pasted, ...dropped]) => {
              const paste = new DataTransfer();
              paste.items.add(pasted);
              document.getElementById('composer-input').dispatchEvent(new ClipboardEvent('paste', { clipboardData: paste, bubbles: true, cancelable: true }));
              const pastedItems = document.querySelectorAll('#attachment-tray .tray-item').length;
              document.querySelector('#attachment-tray .tray-remove').click();
              const afterRemove = document.querySelectorAll('#attachment-tray .tray-item').length;
              const drop = new DataTransfer();
              dropped.forEach((file) => drop.items.add(file));
              const target = document.querySelector('.conversation');
              for (const type of ['dragenter', 'dragover', 'drop']) {
                target.dispatchEvent(new DragEvent(type, { dataTransfer: drop, bubbles: true, cancelable: true }));
              }
              done({ pastedItems, afterRemove, dropped: document.querySelectorAll('#attachment-tray .tray-item').length });
            });
        """)
        assert made == {"pastedItems": 1, "afterRemove": 0, "dropped": 2}, made
        before = media_rows(b.driver)
        a.find("#send-button").click()
        album = "#message-list .message:last-child .media-album.album-2"
        b.wait(lambda d: media_rows(d) == before + 1 and d.execute_script(
            f"const images = [...document.querySelectorAll({album + ' img.media-image'!r})];"
            "return images.length === 2 && images.every((i) => i.complete && i.naturalWidth > 0)"), "the album of two photos to load")

    def media_voice(self, a, b, chat_id, token):
        before = media_rows(b.driver)
        a.click("#record-button")
        a.wait(lambda d: d.find_element(By.ID, "recording-bar").get_attribute("data-state") == "recording", "the recording to start")
        a.wait(lambda d: d.find_element(By.ID, "recording-time").text == "0:02", "two seconds of recording", timeout=5)
        a.screenshot("19-recording")
        a.click("#record-send")
        a.find("#composer-input")  # the composer is back
        voice = "#message-list .message:last-child .media-voice"
        b.wait(lambda d: media_rows(d) == before + 1 and d.execute_script(
            f"return document.querySelectorAll({voice + ' .voice-waveform rect'!r}).length > 0"), "Bob's voice bubble with a waveform")
        shown = b.js(f"const v = document.querySelector({voice!r}); return {{id: v.dataset.mediaId, duration: v.dataset.duration, "
                     "time: v.querySelector('.voice-time').textContent}")
        media = self.server.api("GET", f"/media/{shown['id']}", token=token)
        assert media["kind"] == "voice" and media["mime_type"].startswith("audio/"), media
        # The duration is optional in the API (chromium records WebM, whose header has none).
        if media.get("duration") is not None:
            assert 1.0 <= float(media["duration"]) <= 5.0, f"a voice note of about two seconds, got {media['duration']}"
            assert shown["time"] in ("0:01", "0:02", "0:03"), shown
        else:
            print("  (the server sent no duration for the voice note)")
        assert media.get("waveform") and all(0 <= level <= 31 for level in media["waveform"]), media.get("waveform")
        b.wait(lambda d: self.chat_preview(b, chat_id) == "Voice message", "the chat list to read 'Voice message'")
        # Bob plays it: the bars colour as it plays, and it ends by itself.
        b.find(voice + " .voice-play").click()
        b.wait(lambda d: d.execute_script(f"return document.querySelectorAll({voice + ' rect.played'!r}).length > 0"), "the waveform to colour while playing")
        b.wait(lambda d: d.find_element(By.CSS_SELECTOR, voice).get_attribute("data-state") == "idle", "the voice note to play to its end", timeout=10)
        b.wait(lambda d: d.find_element(By.CSS_SELECTOR, voice + " .voice-time").text in ("0:01", "0:02", "0:03"), "its duration shown")

    def media_file(self, a, b, chat_id, token, folder):
        name = f"canary-{random.getrandbits(48):012x}.bin"
        content = os.urandom(1_300_000)  # three parts of 512 KiB
        path = os.path.join(folder, name)
        with open(path, "wb") as file:
            file.write(content)
        # The upload meets a network drop after its first part: it waits, asks the server how far
        # it got, and goes on from there (a slow uplink leaves time to pull the plug mid-file).
        status = "#attachment-tray .tray-item .upload-status"
        slow = {"latency": 0, "downloadThroughput": -1, "uploadThroughput": 600_000}
        a.driver.execute_cdp_cmd("Network.enable", {})
        a.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, **slow})
        a.allowed = [r"/api/v1/uploads/[0-9a-f-]+ - Failed to load resource: net::ERR_INTERNET_DISCONNECTED"]
        try:
            a.driver.find_element(By.ID, "attach-input").send_keys(path)
            a.wait(lambda d: d.find_element(By.CSS_SELECTOR, status).text.startswith("512 KB of 1.2 MB"), "the first part to be sent")
            a.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, **slow})
            a.wait(lambda d: d.find_element(By.CSS_SELECTOR, status).text == "Waiting for the network…", "the upload to wait for the network")
            a.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
            a.wait(lambda d: d.find_element(By.CSS_SELECTOR, "#attachment-tray .tray-item").get_attribute("data-state") == "done",
                   "the upload to finish after the drop", timeout=30)
            a.check_console()
        finally:
            a.allowed = []
            a.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        with open(os.path.join(self.args.output, "server.log"), errors="replace") as log:
            asked = [line for line in log if '"method":"GET"' in line and re.search(r'"path":"/api/v1/uploads/[0-9a-f-]+"', line)]
        assert asked, "after the drop the upload asked the server for its offset (GET /uploads/{id})"
        a.wait(lambda d: d.find_element(By.ID, "connection-state").get_attribute("data-state") == "online", "the page to reconnect")
        a.find("#send-button").click()
        link = "#message-list .message:last-child .media-file"
        b.wait(lambda d: d.execute_script(f"const f = document.querySelector({link!r}); return f && f.querySelector('.file-name').textContent") == name,
               "Bob's file bubble")
        b.wait(lambda d: "/media/" in (d.find_element(By.CSS_SELECTOR, link + " .file-download").get_attribute("href") or ""), "the download link")
        download = b.find(link + " .file-download")
        assert download.get_attribute("download") == name, download.get_attribute("download")
        assert b.find(link + " .file-size").text == "1.2 MB", b.find(link + " .file-size").text
        fetched = b.js_async(FETCH_AND_HASH, download.get_attribute("href"))
        assert fetched.get("status") == 200, fetched
        assert fetched["size"] == len(content) and fetched["sha256"] == hashlib.sha256(content).hexdigest(), \
            f"the link gives other bytes: {fetched['size']} bytes, sha256 {fetched['sha256']}"
        assert "attachment" in (fetched.get("disposition") or ""), fetched
        b.wait(lambda d: self.chat_preview(b, chat_id) == "File", "the chat list to read 'File'")
        a.wait(lambda d: d.execute_script(f"const f = document.querySelector({link!r}); return f && f.querySelector('.file-name').textContent") == name,
               "Alice's own file bubble")

    def step_readme_screenshot(self):
        """A tidy desktop view of a conversation for the README."""
        a = self.alice
        a.viewport(*DESKTOP)
        a.open("/#/")
        a.click(f".chat-item[aria-label^='{self.bob_name}']")
        message_row(a, "Back online")
        a.js("document.activeElement.blur()")
        a.screenshot("readme-web-client")
        # The same in the dark theme (the page follows the system setting).
        a.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        a.wait(lambda d: d.execute_script("return matchMedia('(prefers-color-scheme: dark)').matches"), "the dark theme")
        a.screenshot("16-dark-theme")
        a.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})

    def step_bots(self):
        """Alice makes a bot in Settings and reads its token from the page (once; a new token
        revokes the old one at once; a second bot is deleted). A thread plays the bot with raw Bot
        API calls: it sets its commands, long-polls for updates, answers /menu with an inline
        keyboard, a press with a toast text (then edits its message and buttons), another press
        with an alert; it greets a group it is added to. Alice picks /menu from the "/" menu,
        presses the buttons, and sees the answers and the edited message; in the group, the bot's
        name is badged."""
        a = self.alice
        bot_name = f"helper_{self.suffix}_bot"
        api = lambda token, method, **params: bot_api(self.server.base, token, method, **params)  # noqa: E731
        a.driver.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"], "origin": self.server.base})
        a.click("#settings-link")
        a.find("#bot-list")
        a.js("document.getElementById('settings-bots').scrollIntoView({block: 'start'})")

        # The username rule is told before any request; then the bot is made and its token shown once.
        a.type("#bot-username", f"helper_{self.suffix}", enter=True)
        a.wait(lambda d: "ends in" in d.find_element(By.CSS_SELECTOR, "#bot-create-form .form-error").text, "the username rule")
        a.type("#bot-username", bot_name, enter=True)
        first_token = a.wait(lambda d: (code := visible(d, "#bot-token")) and code.text, "the new bot's token")
        assert re.fullmatch(r"\d+:[A-Za-z0-9_-]{20,}", first_token), f"a token in Telegram's form, got {first_token!r}"
        bot_id = a.wait(lambda d: d.execute_script(
            "const row = document.querySelector(`#bot-list .bot-row[data-username='${arguments[0]}']`);"
            "return row && row.querySelector('.bot-badge') && row.dataset.botId", bot_name), "the bot in the list, with its badge")
        a.click("#bot-token-copy")
        a.wait(lambda d: d.find_element(By.ID, "bot-token-copied").text == "Copied.", "the token to be copied")
        copied = a.js_async("navigator.clipboard.readText().then(done, (error) => done('failed: ' + error))")
        a.driver.execute_cdp_cmd("Browser.resetPermissions", {})  # the grant refused every other permission
        assert copied == first_token, f"the clipboard holds the token (got {copied!r})"
        a.js("document.getElementById('settings-bots').scrollIntoView({block: 'start'})")
        a.screenshot("20-settings-bots")
        me = api(first_token, "getMe")
        assert me.get("ok") and me["result"].get("username") == bot_name and me["result"].get("is_bot") is True, me

        # A new token: the old one stops working at once.
        a.click(f"#bot-list .bot-row[data-username='{bot_name}'] .bot-new-token")
        self.dialog_button(a, "Make a new token").click()
        token = a.wait(lambda d: (code := visible(d, "#bot-token")) and code.text != first_token and code.text, "the replacement token")
        assert not api(first_token, "getMe").get("ok"), "the old token is revoked"
        assert api(token, "getMe").get("ok"), "the new token works"

        # A second bot, deleted: gone from the list, and its token with it.
        a.type("#bot-username", f"spare_{self.suffix}_bot", enter=True)
        spare_token = a.wait(lambda d: (code := visible(d, "#bot-token")) and code.text not in (token, first_token) and code.text, "the second bot's token")
        a.click(f"#bot-list .bot-row[data-username='spare_{self.suffix}_bot'] .bot-delete")
        self.dialog_button(a, "Delete bot").click()
        a.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, f"#bot-list .bot-row[data-username='spare_{self.suffix}_bot']"), "the deleted bot to leave the list")
        assert not visible(a.driver, "#bot-token"), "the deleted bot's token is no longer shown"
        assert not api(spare_token, "getMe").get("ok"), "a deleted bot's token does not work"

        def handle(bot, update):
            message = update.get("message") or {}
            if message.get("text", "").startswith("/menu"):
                bot.call("sendMessage", chat_id=message["chat"]["id"], text="Pick one", reply_markup={"inline_keyboard": [
                    [{"text": "Say hi", "callback_data": "hi"}, {"text": "Courier <site>", "url": "https://example.com/courier"}],
                ]})
            query = update.get("callback_query") or {}
            if query.get("data") == "hi":
                bot.call("answerCallbackQuery", callback_query_id=query["id"], text="Hi from the bot!")
                bot.call("editMessageText", chat_id=query["message"]["chat"]["id"], message_id=query["message"]["message_id"],
                         text="You said hi", reply_markup={"inline_keyboard": [[{"text": "Again", "callback_data": "again"}]]})
            elif query.get("data") == "again":
                bot.call("answerCallbackQuery", callback_query_id=query["id"], text="Enough for today.", show_alert=True)
            joined = update.get("my_chat_member") or {}
            if joined.get("chat", {}).get("type") in ("group", "supergroup") and joined["new_chat_member"]["status"] == "member":
                bot.call("sendMessage", chat_id=joined["chat"]["id"], text="Hello, group!")

        bot = RawBot(self.server.base, token, handle)
        bot.call("setMyCommands", commands=[
            {"command": "start", "description": "Start the bot"},
            {"command": "menu", "description": "Show the menu"},
            {"command": "help", "description": "What I can do"},
        ])
        bot.start()

        def bot_ok():
            assert not bot.errors, f"the bot: {bot.errors}"
            return True
        try:
            # The DM with the bot: its badge, "bot" for presence, no call buttons.
            a.click(f"#bot-list .bot-row[data-username='{bot_name}'] .bot-open")
            a.wait(lambda d: d.find_element(By.ID, "conversation-title").text.startswith(bot_name), "the DM with the bot to open")
            a.find("#conversation-title .bot-badge")
            assert a.text_of("#conversation-subtitle") == "bot"
            assert not visible(a.driver, "#call-button"), "no calls to a bot"
            chat_id = a.js("return document.querySelector('.conversation').dataset.chatId")

            # "/" lists the bot's commands; typing narrows them; Tab fills one in; Enter sends it.
            composer = a.find("#composer-input")
            composer.send_keys("/")
            option_names = lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, "#command-menu:not([hidden]) .command-name")]  # noqa: E731
            a.wait(lambda d: option_names(d) == ["/start", "/menu", "/help"], "the command menu with the bot's commands")
            a.screenshot("21-bot-command-menu")
            composer.send_keys("me")
            a.wait(lambda d: option_names(d) == ["/menu"], "the menu narrowed to /menu")
            composer.send_keys(Keys.TAB)
            a.wait(lambda d: composer.get_attribute("value") == "/menu " and not visible(d, "#command-menu"), "/menu filled in, the menu closed")
            composer.send_keys(Keys.ENTER)
            message_status(a, "/menu", ("sent", "read"))

            # The bot answers with buttons; the chat list shows its badge too.
            keyboard_texts = lambda row: [e.text for e in row.find_elements(By.CSS_SELECTOR, ".inline-keyboard .keyboard-button")]  # noqa: E731
            a.wait(lambda d: bot_ok() and (row := find_message(d, "Pick one")) and keyboard_texts(row) == ["Say hi", "Courier <site>"],
                   "the bot's message with its buttons")
            link = message_row(a, "Pick one").find_element(By.CSS_SELECTOR, ".inline-keyboard a.keyboard-button")
            assert link.get_attribute("href") == "https://example.com/courier" and link.get_attribute("target") == "_blank", link.get_attribute("outerHTML")
            assert "noopener" in link.get_attribute("rel"), link.get_attribute("rel")
            a.find(f".chat-item[data-chat-id='{chat_id}'] .bot-badge")
            a.screenshot("22-bot-inline-keyboard")

            # A press: the bot's answer as a toast, then its edit (new text, new buttons), live.
            pressed = time.time()
            [b for b in message_row(a, "Pick one").find_elements(By.CSS_SELECTOR, ".keyboard-button") if b.text == "Say hi"][0].click()
            a.wait(lambda d: bot_ok() and (toast := visible(d, "#toast")) and toast.text == "Hi from the bot!", "the bot's answer as a toast")
            a.wait(lambda d: (row := find_message(d, "You said hi")) and keyboard_texts(row) == ["Again"] and row.find_elements(By.CSS_SELECTOR, ".edited"),
                   "the message edited by the bot, with its new buttons")
            assert not find_message(a.driver, "Pick one"), "the old text is gone"
            a.screenshot("23-bot-callback-answer")
            print(f"  (button pressed → answer and edit shown in {time.time() - pressed:.1f} s)")
            query = next(u["callback_query"] for u in bot.updates if "callback_query" in u)
            assert query["message"]["chat"]["id"] > 0 and query["data"] == "hi", query

            # A press answered with show_alert: a dialog, not a toast.
            [b for b in message_row(a, "You said hi").find_elements(By.CSS_SELECTOR, ".keyboard-button") if b.text == "Again"][0].click()
            alert = a.wait(lambda d: bot_ok() and (dialog := visible(d, "dialog[open]")) and "Enough for today." in dialog.text and dialog, "the bot's alert")
            assert bot_name in alert.find_element(By.CSS_SELECTOR, "h2").text, alert.text
            self.dialog_button(a, "OK").click()
            a.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog[open]"), "the alert to close")

            # In a group the bot's name carries its badge over its messages and in the member list;
            # "/" lists its commands there too, and Escape closes the menu.
            alice_token = a.js("return localStorage.getItem('courier.token')")
            lab = self.server.api("POST", "/chats", {"type": "group", "name": "Bot lab", "member_ids": [bot_id]}, token=alice_token)["id"]
            a.click(f".chat-item[data-chat-id='{lab}']")
            a.wait(lambda d: bot_ok() and (row := find_message(d, "Hello, group!")) and row.find_elements(By.CSS_SELECTOR, ".message-author .bot-badge"),
                   "the bot's message in the group, its name badged")
            composer = a.find("#composer-input")
            composer.send_keys("/")
            a.wait(lambda d: option_names(d) == ["/start", "/menu", "/help"], "the group's command menu")
            composer.send_keys(Keys.ESCAPE)
            a.wait(lambda d: not visible(d, "#command-menu") and composer.get_attribute("value") == "/", "Escape to close the menu")
            composer.send_keys(Keys.BACKSPACE)
            a.click("#chat-info-button")
            a.find(f"#member-list .member-row[data-user-id='{bot_id}'] .bot-badge")
            a.screenshot("24-bot-in-a-group")
            a.find("dialog").send_keys(Keys.ESCAPE)
            a.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog[open]"), "the group info to close")
            bot_ok()
        finally:
            bot.stop()

    def dialog_button(self, browser, label):
        """The button `label` of the open dialog on top."""
        return browser.wait(lambda d: [x for x in d.find_elements(By.CSS_SELECTOR, "dialog[open] .button") if x.text == label and x.is_displayed()],
                            f"the dialog button {label}")[0]

    def step_two_tabs(self):
        """A second tab of Alice's browser shares her session: when the stored access token is about
        to expire, four concurrent requests in the new tab refresh it once, and the server's audit
        log shows no other refresh from either tab (the refresh token works once: a second use
        would sign the session out). Signing out in one tab signs out the other."""
        a = self.alice
        first = a.driver.current_window_handle
        a.driver.switch_to.new_window("tab")
        a.open("/")
        a.wait(lambda d: d.find_element(By.ID, "connection-state").get_attribute("data-state") == "online", "the second tab online")
        refresh_before = a.js("return localStorage.getItem('courier.refresh_token')")
        a.js("localStorage.setItem('courier.token_expires_at', new Date(Date.now() + 1000).toISOString())")
        result = a.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            import('/assets/lib/api.js')
              .then((api) => Promise.all([api.get('/users/me'), api.get('/chats'), api.get('/auth/sessions'), api.get('/auth/2fa')]))
              .then((answers) => done({ ok: answers.length }), (error) => done({ error: String(error) }));
        """)
        assert result.get("ok") == 4, result
        assert a.js("return localStorage.getItem('courier.refresh_token')") != refresh_before, "the token pair was refreshed"
        audit = self.server.api("GET", "/audit?limit=100", token=a.js("return localStorage.getItem('courier.token')"))
        refreshes = [e for e in audit["entries"] if e["action"] == "token_refresh"]
        assert len(refreshes) == 1, f"one refresh for four concurrent requests, got {len(refreshes)}"
        assert not [e for e in audit["entries"] if e["action"] == "refresh_token_reuse"], "no refresh token was used twice"

        a.click("#settings-link")
        a.click("#sign-out-button")
        a.find("#sign-in-form")
        a.driver.switch_to.window(first)
        a.find("#sign-in-form")  # the first tab followed
        a.check_console()

    def step_two_factor_sign_in(self):
        """Alice (signed out by the previous step) signs in: password, then the code step."""
        a = self.alice
        a.type("#sign-in-form input[name=identifier]", self.alice_name)
        a.type("#sign-in-form input[name=password]", PASSWORD)
        # The server answers the password alone with 401 two_factor_required: the one expected error.
        a.allowed = [rf"{re.escape(self.server.base)}/api/v1/auth/login - Failed to load resource: the server responded with a status of 401"]
        a.click("#sign-in-form button[type=submit]")
        a.find("#two-factor-form")
        a.check_console()
        a.allowed = []
        a.screenshot("15-two-factor-sign-in")
        a.type("#two-factor-form input[name=totp_code]", totp(self.alice_totp_secret), enter=True)
        a.wait(lambda d: d.find_element(By.ID, "connection-state").get_attribute("data-state") == "online", "Alice signed in again")
        a.find(f".chat-item[aria-label^='{self.bob_name}']")

    # -- runner -------------------------------------------------------------------------------

    def run(self):
        steps = [
            ("client modules: timeline rules, QR encoder, formatting, media helpers, SHA-256", self.step_module_checks),
            ("register two people", self.step_register),
            ("direct messages: live delivery, ticks, typing, edit, reply, delete", self.step_direct_messages),
            ("reactions and a pin, live on the other side; search finds a message and jumps to it", self.step_reactions_pins_search),
            ("group with members and an admin", self.step_group),
            ("channel: post, find, subscribe, live posts", self.step_channel),
            ("chat list: pin, mute, mention badge, draft, archive; a notification while hidden", self.step_chat_list_and_notifications),
            ("premium: buy and cancel the stub subscription", self.step_premium),
            ("settings: profile, sessions, 2FA QR code", self.step_settings),
            ("Telegram link, a reference-only notice, sign out and in through its link", self.step_telegram_reference),
            ("/r/<unknown reference> is not available", self.step_reference),
            ("history: infinite scroll upwards", self.step_history),
            ("phone width", self.step_phone_width),
            ("network drop: offline state, reconnect, catch up on messages, edits and deletions", self.step_network_drop),
            ("live read ticks from a reply", self.step_ticks_from_a_reply),
            ("server killed and restarted: reconnect and catch up", self.step_restart),
            ("media: photo and viewer, pasted and dropped files, an album, a voice note, a file", self.step_media),
            ("README screenshot (light and dark)", self.step_readme_screenshot),
            ("bots: made in Settings, token once; its command menu, inline buttons, a toast, an edit, an alert, a group", self.step_bots),
            ("two tabs: one refresh for both, sign-out follows", self.step_two_tabs),
            ("sign in with the two-step verification code", self.step_two_factor_sign_in),
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
                            browser.screenshot(f"failure-{browser.name}")
                            with open(os.path.join(self.args.output, f"failure-{browser.name}.html"), "w") as file:
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
            self.telegram.stop()
        skipped = len(steps) - passed - failed
        print(f"screenshots in {self.args.output}; {time.time() - started:.1f} s in all")
        print(f"web-e2e: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
        return failed == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("COURIER_BINARY", ".build/debug/courier"), help="the courier binary")
    parser.add_argument("--output", default="test-output/web", help="folder for screenshots and logs")
    parser.add_argument("--web-dir", default=os.environ.get("COURIER_WEB_DIR"), help="serve this web folder instead of the built-in one")
    args = parser.parse_args()
    if not os.path.exists(args.server):
        sys.exit(f"web-e2e: no server binary at {args.server}")
    # A TERM (a CI timeout, say) unwinds like Ctrl-C, so the server and the browsers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(0 if Scenario(args).run() else 1)


if __name__ == "__main__":
    main()
