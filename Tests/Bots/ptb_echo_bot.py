"""An echo bot written with python-telegram-bot 22 the way its documentation writes one; the only
Courier-specific lines are the two base URLs. Run by bots_e2e.py; configured like a deployed bot,
by environment variables:

    COURIER_URL     the Courier server (http://127.0.0.1:PORT)
    BOT_TOKEN       the bot's token from Courier
    WEBHOOK_PORT    when set, the bot runs PTB's webhook listener on 127.0.0.1:WEBHOOK_PORT
    WEBHOOK_SECRET  …and has setWebhook send this secret token with every update

What it does: /start greets and tells the ids it sees; text is echoed back as a reply; /photo
sends a generated PNG; /document sends a text file; a photo or a document sent to it is
downloaded with getFile and answered with its size and SHA-256.
"""

import hashlib
import logging
import os

from telegram import BotCommand, Update
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from support import DOCUMENT, png

SERVER = os.environ["COURIER_URL"]
TOKEN = os.environ["BOT_TOKEN"]

logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    await update.message.reply_text(
        f"Hello {user.first_name}! user_id={user.id} chat_id={update.effective_chat.id} is_bot={user.is_bot}")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text, do_quote=True)


async def send_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_photo(photo=png(160, 120, seed=7), caption="a photo from python-telegram-bot")


async def send_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_document(document=DOCUMENT, filename="notes.txt", caption="a document from python-telegram-bot")


async def got_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    largest = update.message.photo[-1]
    file = await largest.get_file()
    data = bytes(await file.download_as_bytearray())
    await update.message.reply_text(
        f"got photo {largest.width}x{largest.height} {len(data)} bytes sha256={hashlib.sha256(data).hexdigest()}")


async def got_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    document = update.message.document
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    await update.message.reply_text(
        f"got document {document.file_name} {len(data)} bytes sha256={hashlib.sha256(data).hexdigest()}")


async def post_init(application: Application) -> None:
    await application.bot.set_my_commands([
        BotCommand("start", "Start"), BotCommand("photo", "Send a photo"), BotCommand("document", "Send a document"),
    ])


def main() -> None:
    application = (
        Application.builder()
        .token(TOKEN)
        .base_url(f"{SERVER}/bot")
        .base_file_url(f"{SERVER}/file/bot")
        .post_init(post_init)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("photo", send_photo))
    application.add_handler(CommandHandler("document", send_document))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(MessageHandler(filters.PHOTO, got_photo))
    application.add_handler(MessageHandler(filters.Document.ALL, got_document))

    port = os.environ.get("WEBHOOK_PORT")
    if port:
        application.run_webhook(
            listen="127.0.0.1",
            port=int(port),
            url_path="ptb-webhook",
            webhook_url=f"http://127.0.0.1:{port}/ptb-webhook",
            secret_token=os.environ["WEBHOOK_SECRET"],
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
