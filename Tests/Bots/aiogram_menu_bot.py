"""A menu bot written with aiogram 3 the way its documentation writes one; the only Courier-specific
line is the API server (`TelegramAPIServer.from_base`). Run by bots_e2e.py; configured like a
deployed bot, by environment variables:

    COURIER_URL     the Courier server (http://127.0.0.1:PORT)
    BOT_TOKEN       the bot's token from Courier
    WEBHOOK_PORT    when set, the bot runs aiogram's aiohttp webhook server on 127.0.0.1:WEBHOOK_PORT
    WEBHOOK_SECRET  …and has setWebhook send this secret token with every update

What it does: /menu sends a question with an inline keyboard (two callback buttons and a URL
button); pressing Yes or No answers the callback query with a toast and edits the question (with
a new keyboard); /photo sends a generated PNG; a photo sent to it is downloaded and answered with
its size and SHA-256.
"""

import asyncio
import hashlib
import logging
import os

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandStart
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from support import png

SERVER = os.environ["COURIER_URL"]
TOKEN = os.environ["BOT_TOKEN"]
WEBHOOK_PATH = "/aiogram-webhook"

logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
router = Router()


@router.message(CommandStart())
async def start(message: Message) -> None:
    await message.answer(f"Hello from aiogram, {message.from_user.first_name}! chat_id={message.chat.id}")


@router.message(Command("menu"))
async def menu(message: Message) -> None:
    keyboard = InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text="Yes", callback_data="yes"), InlineKeyboardButton(text="No", callback_data="no")],
        [InlineKeyboardButton(text="Courier", url="https://example.org/courier")],
    ])
    await message.answer("Do you like Courier?", reply_markup=keyboard)


@router.callback_query(F.data.in_({"yes", "no"}))
async def chosen(callback: CallbackQuery) -> None:
    await callback.answer(f"You chose {callback.data}")
    again = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Ask again", callback_data="again")]])
    await callback.message.edit_text(f"You chose: {callback.data}", reply_markup=again)


@router.message(Command("photo"))
async def send_photo(message: Message) -> None:
    await message.answer_photo(BufferedInputFile(png(96, 64, seed=99), filename="aiogram.png"), caption="a photo from aiogram")


@router.message(F.photo)
async def got_photo(message: Message, bot: Bot) -> None:
    largest = message.photo[-1]
    data = (await bot.download(largest)).read()
    await message.answer(f"got photo {largest.width}x{largest.height} {len(data)} bytes sha256={hashlib.sha256(data).hexdigest()}")


def make_bot() -> Bot:
    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(SERVER)))


async def polling() -> None:
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    await dispatcher.start_polling(make_bot())


def webhook(port: int, secret: str) -> None:
    from aiohttp import web
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

    dispatcher = Dispatcher()
    dispatcher.include_router(router)

    async def on_startup(bot: Bot) -> None:
        await bot.set_webhook(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", secret_token=secret,
                              allowed_updates=dispatcher.resolve_used_update_types())

    dispatcher.startup.register(on_startup)
    bot = make_bot()
    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=secret).register(app, path=WEBHOOK_PATH)
    setup_application(app, dispatcher, bot=bot)
    web.run_app(app, host="127.0.0.1", port=port)


if __name__ == "__main__":
    if os.environ.get("WEBHOOK_PORT"):
        webhook(int(os.environ["WEBHOOK_PORT"]), os.environ["WEBHOOK_SECRET"])
    else:
        asyncio.run(polling())
