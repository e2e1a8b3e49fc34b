"""Sends neutral replies through the Telegram Bot API (python-telegram-bot).

PTB is asyncio; the worker is threaded. One `Bot` lives on one long-lived event loop in a
background thread, and worker threads submit coroutines to it
(https://docs.python-telegram-bot.org/en/stable/telegram.bot.html).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta
from typing import Any, Coroutine

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from bot.telegram.adapter import TEXT_CALLBACK
from core.messages import Choice, Reply, label_width
from core.sending import Outcome, SendRequest
from core.settings import TelegramSettings

log = logging.getLogger(__name__)


class LoopThread:
    """An asyncio event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="telegram-loop", daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine, timeout: float | None = None) -> Any:
        """Run a coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


# Two buttons share a row only when both labels fit half a phone's width; a longer label
# gets a row of its own so Telegram shows it whole instead of "Bicara deng…".
HALF_ROW_WIDTH = 14


def button_rows(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    """Two short buttons a row, in order; a long label alone on its row."""
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        short = label_width(button.text) <= HALF_ROW_WIDTH
        last = rows[-1] if rows else None
        if short and last is not None and len(last) == 1 and label_width(last[0].text) <= HALF_ROW_WIDTH:
            last.append(button)
        else:
            rows.append([button])
    return rows


def keyboard(choices: tuple[Choice, ...]) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    """An inline keyboard (see `button_rows`); typed-text choices send their text as callback data.

    Only a reply keyboard can ask for the user's location, so a location choice gets one.
    """
    if not choices:
        return None
    location = next((choice for choice in choices if choice.location), None)
    if location is not None:
        return ReplyKeyboardMarkup([[KeyboardButton(location.label, request_location=True)]],
                                   one_time_keyboard=True, resize_keyboard=True)
    buttons = []
    for choice in choices:
        if choice.url:
            buttons.append(InlineKeyboardButton(choice.label, url=choice.url))
        else:
            data = choice.data or f"{TEXT_CALLBACK}{choice.text or choice.label}"
            buttons.append(InlineKeyboardButton(choice.label, callback_data=data.encode()[:64].decode("utf-8", "ignore")))
    return InlineKeyboardMarkup(button_rows(buttons))


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """Telegram channel sender."""

    channel = "telegram"

    def __init__(self, settings: TelegramSettings) -> None:
        self.settings = settings
        self.timeout = settings.timeout_seconds
        self._loop = LoopThread()
        request = HTTPXRequest(connection_pool_size=32, read_timeout=self.timeout, write_timeout=self.timeout,
                               connect_timeout=self.timeout, pool_timeout=self.timeout)
        self.bot = Bot(settings.bot_token, base_url=f"{settings.api_base}/bot",
                       base_file_url=f"{settings.api_base}/file/bot", request=request)
        self._username: str | None = settings.username or None

    def close(self) -> None:
        """Shut the HTTP client and the loop down."""
        try:
            self._loop.run(self.bot.shutdown(), timeout=5)
        except Exception:  # noqa: BLE001 - closing best effort
            pass
        self._loop.stop()

    def run(self, coroutine: Coroutine) -> Any:
        """Run a PTB coroutine on the sender's loop."""
        return self._loop.run(coroutine, timeout=self.timeout * 3)

    @property
    def username(self) -> str | None:
        """The bot's @username (asked once with getMe when not configured)."""
        if self._username is None:
            try:
                me = self.run(self.bot.get_me())
                self._username = me.username or ""
            except TelegramError as exc:
                log.warning("getMe failed: %s", exc)
                return None
        return self._username or None

    def deliver(self, request: SendRequest) -> list[Outcome]:
        """Send each reply as its own message; stop at the first failure so order is kept."""
        if request.reply_token:  # a callback query: stop the button's spinner
            try:
                self.run(self.bot.answer_callback_query(request.reply_token))
            except TelegramError as exc:
                log.info("answerCallbackQuery failed (query too old?): %s", exc)
        outcomes: list[Outcome] = []
        for index, reply in enumerate(request.replies):
            outcome = self._send(int(request.chat_id), reply)
            outcomes.append(outcome)
            if outcome.status != "sent":
                later = "failed" if outcome.status == "failed" else "retry"
                outcomes.extend(Outcome(later, "waiting for an earlier message") for _ in request.replies[index + 1:])
                break
        return outcomes

    def _send(self, chat_id: int, reply: Reply) -> Outcome:
        try:
            messages = self.run(self._send_async(chat_id, reply))
        except RetryAfter as exc:
            return Outcome("retry", f"Telegram flood control: retry after {exc.retry_after}",
                           retry_after=_seconds(exc.retry_after))
        except Forbidden as exc:
            return Outcome("failed", f"Telegram 403: {exc.message}", blocked="blocked" in exc.message.lower())
        except BadRequest as exc:
            return Outcome("failed", f"Telegram 400: {exc.message}")
        except TimedOut as exc:
            # The request may have reached Telegram: never send it again.
            return Outcome("unknown", f"Telegram timed out: {exc.message}")
        except NetworkError as exc:
            return Outcome("retry", f"Telegram unreachable: {exc.message}")
        except TelegramError as exc:
            return Outcome("failed", f"Telegram error: {exc.message}")
        except TimeoutError:
            return Outcome("unknown", "Telegram call did not finish in time")
        return Outcome("sent", platform_message_id=str(messages[-1].message_id) if messages else None)

    async def _send_async(self, chat_id: int, reply: Reply) -> list:
        markup = keyboard(reply.choices)
        if reply.cards:
            sent = []
            if reply.text:
                sent.append(await self.bot.send_message(chat_id, reply.text[:4096]))
            for card in reply.cards:
                caption = "\n".join(part for part in (f"<b>{_escape(card.title)}</b>", _escape(card.subtitle)) if part)
                card_markup = keyboard(card.buttons)
                if card.image_url:
                    sent.append(await self.bot.send_photo(chat_id, card.image_url, caption=caption[:1024],
                                                          parse_mode="HTML", reply_markup=card_markup))
                else:
                    sent.append(await self.bot.send_message(chat_id, caption[:4096], parse_mode="HTML",
                                                            reply_markup=card_markup))
            if markup:
                sent.append(await self.bot.send_message(chat_id, "⬇️", reply_markup=markup))
            return sent
        if reply.location:
            loc = reply.location
            if reply.text:
                await self.bot.send_message(chat_id, reply.text[:4096])
            return [await self.bot.send_venue(chat_id, latitude=loc.lat, longitude=loc.lon, title=loc.title or "-",
                                              address=loc.address or "-", reply_markup=markup)]
        if reply.image_url:
            return [await self.bot.send_photo(chat_id, reply.image_url, caption=reply.text[:1024] or None,
                                              reply_markup=markup)]
        return [await self.bot.send_message(chat_id, (reply.text or " ")[:4096], reply_markup=markup)]

    def profile(self, user_id: str, chat_type: str = "direct", chat_id: str | None = None) -> dict | None:
        """Telegram sends the user's name with every update; no extra call is needed."""
        return None

    def content(self, message_id: str, data: dict) -> tuple[bytes, str] | None:
        """The bytes of a photo/file via getFile (Telegram keeps files for bots to download)."""
        file_id = data.get("file_id")
        if not file_id:
            return None

        async def download() -> bytes:
            file = await self.bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())

        try:
            body = self.run(download())
        except BadRequest:
            return None
        kind = "image/jpeg" if "width" in data else "application/octet-stream"
        return body, kind


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
