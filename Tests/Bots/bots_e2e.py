#!/usr/bin/env python3
"""End-to-end test of unmodified Telegram bot libraries from PyPI against the real Courier binary.

It starts `courier serve` on a free port with a fresh data folder, signs a person up over the REST
API, creates two bots (`POST /api/v1/bots`) and opens a DM with each, then runs real bots written
with python-telegram-bot 22 (ptb_echo_bot.py) and aiogram 3 (aiogram_menu_bot.py) as separate
processes, exactly as their documentation writes them except for the base URL. The person talks to
them only through Courier's REST API and reads the answers from the chat history. Checked:

1. PTB by long polling: /start is answered (the command arrived with its bot_command entity, and
   the DM's chat id is the person's user id); "hello" is echoed as a reply to the person's message
   (reply_parameters); the commands the bot set with setMyCommands show in the chat's command menu;
   the bot is marked is_bot.
2. PTB by webhook (PTB's own tornado listener, which calls setWebhook with a secret token itself):
   getWebhookInfo shows the URL; a message is echoed; requests to the listener without the secret
   or with a wrong one are refused by the library (403), and what they carried never reaches the chat.
3. aiogram with an inline keyboard, by long polling and then by webhook (aiogram's aiohttp server,
   which refuses a missing secret with 401): /menu brings a message whose metadata holds the
   keyboard; pressing Yes (`POST /messages/{id}/callback`) answers with the bot's
   answerCallbackQuery text; the bot's editMessageText (with a new keyboard) shows in the history;
   pressing a button that is gone answers 422.
4. Media: each library's sendPhoto (a PNG generated here; PTB uploads it under `photo`, aiogram as
   `attach://…`) arrives as an image message that the person can download as a picture of the same
   size; PTB's sendDocument arrives byte for byte. A photo and a file the person uploads through
   the REST upload API are fetched by the bots with getFile and downloaded from /file/bot…: the
   file's bytes match exactly, the photo's match the size Courier serves the person (Courier
   re-encodes photos) and have the size the Bot API claims for the largest PhotoSize.
5. 429: on a second server with COURIER_RATE_LIMIT_BOT=20/60, a burst of sendMessage makes
   PTB raise RetryAfter carrying the server's `parameters.retry_after`, aiogram raise
   TelegramRetryAfter, and PTB's AIORateLimiter wait that long and then succeed.

Bots' logs, the servers' logs and nothing else go to the output folder.

    python3 Tests/Bots/bots_e2e.py --server .build/debug/courier [--output test-output/bots]

Needs python-telegram-bot[webhooks,rate-limiter] 22 and aiogram 3 (scripts/lib/bots-e2e.sh makes
a virtualenv with them). Exits 0 when every scenario passed; prints `bots-e2e: N passed, N failed`
as its last line.
"""

import argparse
import asyncio
import datetime
import json
import os
import random
import re
import secrets
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(HERE, "..", "WebClient"))
from courier_server import CourierServer, free_port  # noqa: E402 - after the path is set
from fake_telegram import FakeTelegram  # noqa: E402
from support import (DOCUMENT, BotProcess, Person, bot_api, http, image_size, png, sha256,  # noqa: E402
                     wait_for_port, wait_until)

SERVER_ENV = {
    # People's REST calls poll the history; the per-person limit must not get in the way of that.
    "COURIER_RATE_LIMIT_USER": "100000/60", "COURIER_RATE_LIMIT_UNAUTHENTICATED_PER_IP": "100000/60",
    # The bots' webhook listeners are on 127.0.0.1, which a server refuses to post to unless told.
    "COURIER_BOT_WEBHOOKS_TO_PRIVATE_NETWORKS": "allow",
}
BOT_RATE_LIMIT = 20  # requests a minute, for scenario 5's server (COURIER_RATE_LIMIT_BOT)


def from_bot(bot_id, after_seq):
    """A predicate for history entries: sent by `bot_id` after the message at `after_seq`."""
    return lambda m: m.get("sender_id") == bot_id and m["seq"] > after_seq and not m.get("deleted_at")


class Run:
    def __init__(self, args):
        self.args = args
        self.output = os.path.abspath(args.output)
        os.makedirs(self.output, exist_ok=True)
        self.suffix = f"{random.randint(0, 999999):06d}"
        self.telegram = FakeTelegram().start()  # the Telegram relay's upstream; not the bots' API
        self.server = self.new_server("courier-bots-e2e", {})
        self.bots = []  # running BotProcess objects, stopped after each scenario
        self.person = None
        self.person_telegram_id = None

    def new_server(self, name, env):
        folder = os.path.join(self.output, name)
        os.makedirs(folder, exist_ok=True)
        return CourierServer(os.path.abspath(self.args.server), folder, self.telegram.url, name=name,
                             extra_env={**SERVER_ENV, **dict(self.args.env), **env})

    def start_bot(self, script, name, token, server=None, webhook=None):
        env = {"COURIER_URL": (server or self.server).base, "BOT_TOKEN": token}
        if webhook:
            env.update(WEBHOOK_PORT=str(webhook[0]), WEBHOOK_SECRET=webhook[1])
        bot = BotProcess(script, name, self.output, env)
        self.bots.append(bot)
        return bot

    def stop_bots(self):
        while self.bots:
            self.bots.pop().stop()

    # -- setting up ---------------------------------------------------------------------------

    def setup(self):
        self.server.start()
        self.person = Person(self.server, f"alice_{self.suffix}", f"+1415{self.suffix}1")
        self.ptb_id, self.ptb_token = self.person.create_bot(f"echo_{self.suffix}_bot")
        self.aiogram_id, self.aiogram_token = self.person.create_bot(f"Menu{self.suffix}Bot")
        self.ptb_chat = self.person.direct_chat(self.ptb_id)
        self.aiogram_chat = self.person.direct_chat(self.aiogram_id)

    def say(self, chat_id, text, attachments=None):
        """The person sends `text`; answers the message as stored (with its seq)."""
        return self.person.send(chat_id, text, attachments)

    def reply_from(self, bot_id, chat_id, sent, predicate, description, bot=None):
        """The bot's first message after `sent` that matches `predicate`; fails early if the bot died."""
        def probe():
            if bot:
                bot.check_alive()
            return next((m for m in self.person.history(chat_id) if from_bot(bot_id, sent["seq"])(m) and predicate(m)), None)
        return wait_until(probe, description)

    # -- 1. python-telegram-bot by long polling -------------------------------------------------

    def scenario_ptb_polling(self):
        bot = self.start_bot("ptb_echo_bot.py", "ptb-polling", self.ptb_token)
        sent = self.say(self.ptb_chat, "/start")
        greeting = self.reply_from(self.ptb_id, self.ptb_chat, sent, lambda m: m["content"].startswith("Hello "),
                                   "the bot's answer to /start", bot)
        ids = dict(re.findall(r"(\w+)=(\S+)", greeting["content"]))
        assert ids.get("user_id", "").isdigit() and int(ids["user_id"]) > 0, f"a positive integer user id: {greeting['content']!r}"
        assert ids.get("chat_id") == ids["user_id"], f"a DM's chat id is the person's id: {greeting['content']!r}"
        assert ids.get("is_bot") == "False", f"the person is not a bot: {greeting['content']!r}"
        self.person_telegram_id = int(ids["user_id"])

        sent = self.say(self.ptb_chat, "hello")
        echo = self.reply_from(self.ptb_id, self.ptb_chat, sent, lambda m: m["content"] == "hello", "the echo of 'hello'", bot)
        assert echo.get("reply_to_id") == sent["id"], f"the echo replies to the person's message (reply_parameters): {echo}"
        assert echo.get("message_type", "text") == "text", echo

        # setMyCommands ran in post_init, before polling started.
        commands = self.person.call("GET", f"/chats/{self.ptb_chat}/bot-commands")["commands"]
        listed = {(c["command"], c["description"]) for c in commands if c.get("bot_id") == self.ptb_id}
        assert {("start", "Start"), ("photo", "Send a photo"), ("document", "Send a document")} <= listed, f"the command menu: {commands}"
        user = self.person.call("GET", f"/users/{self.ptb_id}")
        assert user.get("is_bot") is True, f"the bot's account is marked is_bot: {user}"
        me = self.person.call("GET", f"/users/{self.person.id}")
        assert me.get("is_bot") is False, f"the person's account is not: {me}"
        self.stop_bots()
        assert bot.process.returncode == 0, f"the bot stopped cleanly on Ctrl-C (exit {bot.process.returncode}):\n{bot.tail()}"

    # -- 2. python-telegram-bot by webhook ------------------------------------------------------

    def start_webhook_bot(self, script, name, token, path):
        port, secret = free_port(), secrets.token_urlsafe(24)
        bot = self.start_bot(script, name, token, webhook=(port, secret))
        url = f"http://127.0.0.1:{port}{path}"

        def webhook_set():
            bot.check_alive()
            return bot_api(self.server, token, "getWebhookInfo")["result"].get("url") == url
        wait_until(webhook_set, f"getWebhookInfo to show {url}")
        wait_for_port(port)
        return bot, url

    def forged_update(self):
        """A /start from "Mallory" in the person's DM, shaped as Courier would post it: both bots
        would greet Mallory by name if their library let it through."""
        person = {"id": self.person_telegram_id or 1, "is_bot": False, "first_name": "Mallory"}
        return {"update_id": 999_999_000 + random.randint(0, 999), "message": {
            "message_id": 1, "date": int(time.time()), "chat": {"id": person["id"], "type": "private"},
            "from": person, "text": "/start", "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}

    def check_listener_refuses(self, url, expected_status):
        """Posts a forged update to the bot's listener without the secret and with a wrong one: the
        library must refuse both (the caller checks later that the bot never answered Mallory)."""
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"}):
            body = json.dumps(self.forged_update()).encode()
            status, answer = http("POST", url, body, {"Content-Type": "application/json", **headers})
            kind = "with a wrong" if headers else "without the"
            assert status == expected_status, f"the listener answers {expected_status} to an update {kind} secret, not {status} {answer!r:.200}"

    def check_mallory_ignored(self, chat_id):
        assert not any("Mallory" in m["content"] for m in self.person.history(chat_id)), "the bot acted on a forged update"

    def scenario_ptb_webhook(self):
        bot, url = self.start_webhook_bot("ptb_echo_bot.py", "ptb-webhook", self.ptb_token, "/ptb-webhook")
        info = bot_api(self.server, self.ptb_token, "getWebhookInfo")["result"]
        assert "secret_token" not in info, f"getWebhookInfo never tells the secret: {info}"
        self.check_listener_refuses(url, 403)

        sent = self.say(self.ptb_chat, "hello by webhook")
        echo = self.reply_from(self.ptb_id, self.ptb_chat, sent, lambda m: m["content"] == "hello by webhook",
                               "the echo by webhook (PTB only accepts it with the secret header and Content-Type: application/json)", bot)
        assert echo.get("reply_to_id") == sent["id"], echo
        sent = self.say(self.ptb_chat, "/start")
        self.reply_from(self.ptb_id, self.ptb_chat, sent, lambda m: m["content"].startswith("Hello "), "the answer to /start by webhook", bot)
        self.check_mallory_ignored(self.ptb_chat)
        self.stop_bots()

    # -- 3. aiogram: inline keyboard, callback, edit --------------------------------------------

    def menu_round(self, bot):
        sent = self.say(self.aiogram_chat, "/menu")
        question = self.reply_from(self.aiogram_id, self.aiogram_chat, sent, lambda m: m["content"] == "Do you like Courier?",
                                   "the menu", bot)
        keyboard = ((question.get("metadata") or {}).get("reply_markup") or {}).get("inline_keyboard")
        assert keyboard and [b.get("text") for b in keyboard[0]] == ["Yes", "No"], f"the keyboard in metadata.reply_markup: {question}"
        assert keyboard[0][0].get("callback_data") == "yes" and keyboard[1][0].get("url") == "https://example.org/courier", keyboard

        answer = self.person.call("POST", f"/messages/{question['id']}/callback", {"data": "yes"}, expect=(200,))
        assert answer.get("answered") is True and answer.get("text") == "You chose yes", f"the bot's answerCallbackQuery: {answer}"
        assert not answer.get("show_alert"), answer

        def edited():
            bot.check_alive()
            found = next((m for m in self.person.history(self.aiogram_chat) if m["id"] == question["id"]), None)
            return found if found and found["content"] == "You chose: yes" else None
        message = wait_until(edited, "the bot's editMessageText in the history")
        assert message.get("edited_at"), f"the message is marked edited: {message}"
        buttons = [b.get("text") for row in ((message.get("metadata") or {}).get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
        assert buttons == ["Ask again"], f"editMessageText's reply_markup replaced the keyboard: {message.get('metadata')}"
        status, gone = self.person.call_status("POST", f"/messages/{question['id']}/callback", {"data": "yes"})
        assert status == 422, f"pressing a button the message no longer has: {status} {gone}"

    def scenario_aiogram(self):
        bot = self.start_bot("aiogram_menu_bot.py", "aiogram-polling", self.aiogram_token)
        self.menu_round(bot)
        self.stop_bots()

        bot, url = self.start_webhook_bot("aiogram_menu_bot.py", "aiogram-webhook", self.aiogram_token, "/aiogram-webhook")
        self.check_listener_refuses(url, 401)
        self.menu_round(bot)
        self.check_mallory_ignored(self.aiogram_chat)
        self.stop_bots()
        # Back to polling for the next scenario: aiogram does not delete a webhook itself.
        assert bot_api(self.server, self.aiogram_token, "deleteWebhook")["ok"] is True

    # -- 4. media both ways -----------------------------------------------------------------------

    def check_bot_photo(self, bot_id, chat_id, command, caption, size, bot):
        sent = self.say(chat_id, command)
        photo = self.reply_from(bot_id, chat_id, sent, lambda m: m.get("media"), f"the bot's photo ({command})", bot)
        media = photo["media"][0]
        assert photo["message_type"] == "image" and media["kind"] == "photo", f"an image message with a photo: {photo}"
        assert photo["content"] == caption, f"the caption: {photo['content']!r}"
        assert (media.get("width"), media.get("height")) == size, f"the photo's size: {media}"
        data = self.person.media_bytes(media["id"])
        assert image_size(data) == size, f"the person downloads a {size[0]}x{size[1]} picture (got {len(data)} bytes, {image_size(data)})"

    def check_bot_downloads_photo(self, bot_id, chat_id, size, seed, bot):
        picture = png(*size, seed=seed)
        media = self.person.upload(picture, "image/png", "holiday.png", "photo")
        sent = self.say(chat_id, "", attachments=[media["id"]])
        reply = self.reply_from(bot_id, chat_id, sent, lambda m: m["content"].startswith("got photo "), "the bot's report of the photo it downloaded", bot)
        match = re.fullmatch(r"got photo (\d+)x(\d+) (\d+) bytes sha256=([0-9a-f]{64})", reply["content"])
        assert match, reply["content"]
        claimed = (int(match[1]), int(match[2]))
        assert claimed == size, f"the largest PhotoSize (photo[-1]) is the full {size[0]}x{size[1]} picture, not {claimed}"
        # The bytes the bot got are one of the sizes Courier serves the person, a picture as large as claimed.
        served = {}
        for variant in self.person.call("GET", f"/media/{media['id']}")["variants"]:
            data = self.person.media_bytes(media["id"], variant["name"])
            served[sha256(data)] = (variant["name"], data)
        assert match[4] in served, f"the bot's download is one of the photo's sizes {[v for v, _ in served.values()]}"
        name, data = served[match[4]]
        assert int(match[3]) == len(data) and image_size(data) == size, f"the {name} size the bot got is {image_size(data)}"

    def scenario_media_ptb(self):
        bot = self.start_bot("ptb_echo_bot.py", "ptb-media", self.ptb_token)
        self.check_bot_photo(self.ptb_id, self.ptb_chat, "/photo", "a photo from python-telegram-bot", (160, 120), bot)

        sent = self.say(self.ptb_chat, "/document")
        message = self.reply_from(self.ptb_id, self.ptb_chat, sent, lambda m: m.get("media"), "the bot's document", bot)
        media = message["media"][0]
        assert media["kind"] == "file" and media.get("file_name") == "notes.txt", f"a file named notes.txt: {media}"
        assert message["content"] == "a document from python-telegram-bot", message["content"]
        assert self.person.media_bytes(media["id"]) == DOCUMENT, "the document arrives byte for byte"

        self.check_bot_downloads_photo(self.ptb_id, self.ptb_chat, (200, 150), 3, bot)

        report = ("id,amount\n" + "".join(f"{i},{i * 7 % 101}\n" for i in range(300))).encode()
        media = self.person.upload(report, "text/csv", "report.csv", "file")
        sent = self.say(self.ptb_chat, "the report", attachments=[media["id"]])
        reply = self.reply_from(self.ptb_id, self.ptb_chat, sent, lambda m: m["content"].startswith("got document "),
                                "the bot's report of the file it downloaded", bot)
        assert reply["content"] == f"got document report.csv {len(report)} bytes sha256={sha256(report)}", \
            f"the bot downloads the person's file byte for byte: {reply['content']!r}"
        self.stop_bots()

    def scenario_media_aiogram(self):
        bot = self.start_bot("aiogram_menu_bot.py", "aiogram-media", self.aiogram_token)
        self.check_bot_photo(self.aiogram_id, self.aiogram_chat, "/photo", "a photo from aiogram", (96, 64), bot)
        self.check_bot_downloads_photo(self.aiogram_id, self.aiogram_chat, (120, 90), 11, bot)
        self.stop_bots()

    # -- 5. 429 with retry_after --------------------------------------------------------------------

    def scenario_rate_limit(self):
        server = self.new_server("courier-bots-e2e-429", {"COURIER_RATE_LIMIT_BOT": f"{BOT_RATE_LIMIT}/60"})
        try:
            server.start()
            person = Person(server, f"bob_{self.suffix}", f"+1415{self.suffix}2")
            bot_id, token = person.create_bot(f"burst_{self.suffix}_bot")
            chat = person.direct_chat(bot_id)
            person.send(chat, "/start")
            asyncio.run(self.rate_limit_checks(server, person, chat, token))
        finally:
            server.cleanup()

    async def rate_limit_checks(self, server, person, chat, token):
        from aiogram import Bot as AiogramBot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer
        from aiogram.exceptions import TelegramRetryAfter
        from telegram import Bot
        from telegram.error import RetryAfter
        from telegram.ext import AIORateLimiter, Application
        from telegram.request import HTTPXRequest

        seen = []  # (method, status, envelope) of every Bot API response PTB got, read by an httpx hook

        async def record(response):
            await response.aread()
            method = response.request.url.path.rsplit("/", 1)[-1]
            try:
                seen.append((method, response.status_code, response.json()))
            except ValueError:
                seen.append((method, response.status_code, response.text))

        def request():
            return HTTPXRequest(httpx_kwargs={"event_hooks": {"response": [record]}})

        def seconds(value):
            return int(value.total_seconds()) if isinstance(value, datetime.timedelta) else int(value)

        urls = {"base_url": f"{server.base}/bot", "base_file_url": f"{server.base}/file/bot"}
        async with Bot(token, request=request(), get_updates_request=request(), **urls) as bot:
            updates = await bot.get_updates(timeout=5)
            start = next((u.message for u in updates if u.message and u.message.text == "/start"), None)
            assert start, f"the person's /start among the updates: {updates}"
            chat_id = start.chat.id
            raised = None
            for i in range(BOT_RATE_LIMIT + 10):
                try:
                    await bot.send_message(chat_id, f"burst {i}")
                except RetryAfter as error:
                    raised = error
                    break
        accepted = sum(1 for _, status, _ in seen if status == 200)
        sent = sum(1 for method, status, _ in seen if status == 200 and method == "sendMessage")
        assert raised, f"no RetryAfter after {BOT_RATE_LIMIT + 10} sendMessage at {BOT_RATE_LIMIT} a minute: {seen[-1]!r:.300}"
        assert accepted <= BOT_RATE_LIMIT + 1, f"{accepted} requests went through before the 429, at {BOT_RATE_LIMIT} a minute"
        method, status, envelope = seen[-1]
        assert method == "sendMessage" and status == 429 and isinstance(envelope, dict), f"the last response: {seen[-1]!r:.300}"
        retry_after = (envelope.get("parameters") or {}).get("retry_after")
        assert envelope.get("ok") is False and envelope.get("error_code") == 429, envelope
        assert isinstance(retry_after, int) and 1 <= retry_after <= 60, f"parameters.retry_after: {envelope}"
        assert envelope.get("description") == f"Too Many Requests: retry after {retry_after}", envelope
        assert seconds(raised.retry_after) == retry_after, f"PTB's RetryAfter says {raised.retry_after}, the server {retry_after}"

        session = AiohttpSession(api=TelegramAPIServer.from_base(server.base))
        aiogram_bot = AiogramBot(token, session=session)
        try:
            await aiogram_bot.send_message(chat_id, "aiogram right after the 429")
            raise AssertionError("aiogram's sendMessage went through while the bot's budget was spent")
        except TelegramRetryAfter as error:
            assert 1 <= error.retry_after <= retry_after, f"aiogram's TelegramRetryAfter: {error.retry_after} (the server said {retry_after} a moment ago)"
        finally:
            await session.close()

        # PTB's rate limiter honours retry_after: it waits as long as told, then the call goes through.
        seen.clear()
        started = time.monotonic()
        application = (Application.builder().token(token).base_url(urls["base_url"]).base_file_url(urls["base_file_url"])
                       .request(request()).rate_limiter(AIORateLimiter(max_retries=3)).build())
        async with application:  # initialize: getMe, itself through the rate limiter
            message = await application.bot.send_message(chat_id, "sent after waiting")
            waited = time.monotonic() - started
        refusals = [envelope["parameters"]["retry_after"] for _, status, envelope in seen if status == 429]
        assert refusals, f"the bot's budget was still spent right after the 429s: {seen}"
        assert waited >= refusals[0], f"AIORateLimiter went on after {waited:.1f} s, before the {refusals[0]} s the server asked for"
        assert message.text == "sent after waiting" and seen[-1][:2] == ("sendMessage", 200), seen[-1]
        person.wait_for_message(chat, lambda m: m["content"] == "sent after waiting", "the message sent after the wait")
        bursts = [m for m in person.history(chat, limit=100) if m["content"].startswith("burst ")]
        assert len(bursts) == sent, f"each accepted sendMessage is in the chat once: {len(bursts)} messages for {sent}"

    # -- runner -------------------------------------------------------------------------------------

    def run(self):
        scenarios = [
            ("python-telegram-bot echo bot by long polling: /start, echo as a reply, command menu, is_bot", self.scenario_ptb_polling),
            ("python-telegram-bot echo bot by webhook with a secret token; the listener refuses forged updates", self.scenario_ptb_webhook),
            ("aiogram inline keyboard: callback answer and edited message, by long polling and by webhook", self.scenario_aiogram),
            ("media with python-telegram-bot: sendPhoto, sendDocument; getFile downloads of the person's photo and file", self.scenario_media_ptb),
            ("media with aiogram: sendPhoto (attach://); getFile download of the person's photo", self.scenario_media_aiogram),
            (f"429 at COURIER_RATE_LIMIT_BOT={BOT_RATE_LIMIT}/60: RetryAfter values, AIORateLimiter waits and succeeds", self.scenario_rate_limit),
        ]
        passed = failed = 0
        started = time.time()
        try:
            try:
                self.setup()
            except Exception as error:  # noqa: BLE001 - nothing can run without the server and the bots
                failed += 1
                print(f"FAIL setting up (server, person, bots, DMs): {error}")
                traceback.print_exc()
                scenarios = []
            for name, scenario in scenarios:
                scenario_started = time.time()
                try:
                    scenario()
                except Exception as error:  # noqa: BLE001 - report it, keep the logs, go on with the next
                    failed += 1
                    print(f"FAIL {name}: {error}")
                    traceback.print_exc()
                    for bot in self.bots:
                        print(f"--- last lines of {bot.log_path}:\n{bot.tail()}")
                else:
                    passed += 1
                    print(f"ok   {name} ({time.time() - scenario_started:.1f} s)")
                finally:
                    self.stop_bots()
        finally:
            self.stop_bots()
            self.server.cleanup()
            self.telegram.stop()
        print(f"logs in {self.output}; {time.time() - started:.1f} s in all")
        print(f"bots-e2e: {passed} passed, {failed} failed")
        return failed == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("COURIER_BINARY", ".build/debug/courier"), help="the courier binary")
    parser.add_argument("--output", default="test-output/bots", help="folder for the servers' and the bots' logs")
    parser.add_argument("--env", action="append", default=[], type=lambda s: tuple(s.split("=", 1)), metavar="NAME=VALUE",
                        help="an extra setting for the servers (repeatable)")
    args = parser.parse_args()
    if not os.path.exists(args.server):
        sys.exit(f"bots-e2e: no server binary at {args.server}")
    # A TERM (a CI timeout, say) unwinds like Ctrl-C, so the servers and the bots are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(0 if Run(args).run() else 1)


if __name__ == "__main__":
    main()
