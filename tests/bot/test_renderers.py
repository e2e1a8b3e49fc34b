"""Buttons as each platform shows them: LINE labels within its limit (never cut mid-word),
LINE carousels as flex carousels, Telegram keyboards one long label a row — sent through the
real SDKs to the fake LINE and Telegram APIs, which check what the platforms check."""

from __future__ import annotations

import logging

import pytest

from bot.line.sender import LineSender, render
from bot.telegram.sender import TelegramSender, button_rows, keyboard
from core import messages as m
from core.sending import SendRequest
from tests.conftest import make_settings

# A question and product names as a shop types them: longer than any button.
LONG_QUESTION = "Apakah bisa bayar pakai QRIS di semua outlet?"
PRODUCTS = ["Es Kopi Susu Gula Aren Spesial Ukuran Besar", "Croissant Butter", "Roti Bakar Cokelat Keju Lumer"]


@pytest.fixture
def senders(sqlite_url, fake_line, fake_telegram):
    """A LINE and a Telegram sender pointed at the fakes."""
    settings = make_settings(sqlite_url, fake_line, fake_telegram)
    telegram = TelegramSender(settings.telegram)
    yield LineSender(settings.line), telegram
    telegram.close()


def _request(chat_id: str, reply: m.Reply) -> SendRequest:
    return SendRequest(chat_id=chat_id, replies=[reply], retry_key="9f1c2d6e-1111-4222-8333-444455556666")


def test_a_shop_typed_label_is_shortened_after_a_whole_word_and_logged(caplog):
    reply = m.Reply(text="Maksud kakak yang mana?", choices=(m.Choice(LONG_QUESTION, data="faq:7"),
                                                             m.Choice("🛒 Pesan", data="intent=order")))
    with caplog.at_level(logging.WARNING, logger="bot.line.sender"):
        items = render(reply)["quickReply"]["items"]
    long_action, short_action = items[0]["action"], items[1]["action"]
    assert long_action["label"] == "Apakah bisa bayar…"  # whole words, within 20
    assert m.label_width(long_action["label"]) <= m.LABEL_LIMIT
    assert long_action["displayText"] == LONG_QUESTION  # the chat still shows what was asked
    assert short_action["label"] == "🛒 Pesan"  # our own labels pass untouched
    assert [r.getMessage() for r in caplog.records if LONG_QUESTION in r.getMessage()]


@pytest.mark.parametrize("label, expected", [
    ("Bicara dengan admin kami", "Bicara dengan admin…"),
    ("🙋 Bicara dengan admin", "🙋 Bicara dengan…"),  # the emoji counts twice
    ("Supercalifragilisticexpialidocious", "Supercalifragilisti…"),  # one word: cut only as a last resort
    ("Roti   Bakar\tCokelat", "Roti Bakar Cokelat"),
    ("Kopi, susu, dan gula aren", "Kopi, susu, dan…"),
])
def test_shorten_label_keeps_whole_words(label, expected):
    short = m.shorten_label(label)
    assert short == expected and m.label_width(short) <= m.LABEL_LIMIT


def test_line_carousel_is_a_flex_carousel_that_line_accepts(senders, fake_line):
    line, _ = senders
    cards = tuple(m.Card(title=name, subtitle="Rp25.000", buttons=(m.Choice("Pesan 1", data=f"order:add:{i}"),
                                                                   m.Choice(name, data=f"info:{i}")))
                  for i, name in enumerate(PRODUCTS))
    outcome, = line.deliver(_request("U1", m.Reply(text="Menu kami", cards=cards)))
    assert outcome.status == "sent", outcome.error
    (_user, message), = fake_line.delivered
    assert message["type"] == "flex" and message["altText"] == "Menu kami"
    carousel = message["contents"]
    assert carousel["type"] == "carousel" and [b["type"] for b in carousel["contents"]] == ["bubble"] * 3
    assert [b["body"]["contents"][0]["text"] for b in carousel["contents"]] == PRODUCTS
    labels = [button["action"]["label"] for b in carousel["contents"] for button in b["footer"]["contents"]]
    assert labels[0] == "Pesan 1" and labels[1] == "Es Kopi Susu Gula…"
    assert all(m.label_width(label) <= m.LABEL_LIMIT for label in labels)


def test_fake_line_refuses_a_label_over_the_limit(fake_line, line_config):
    from linebot.v3.messaging import ApiClient, MessagingApi, PushMessageRequest
    from linebot.v3.messaging.exceptions import ApiException

    api = MessagingApi(ApiClient(line_config))
    message = {"type": "text", "text": "hi", "quickReply": {"items": [
        {"type": "action", "action": {"type": "message", "label": "🙋 Bicara dengan admin", "text": "x"}}]}}
    with pytest.raises(ApiException) as caught:
        api.push_message(PushMessageRequest.from_dict({"to": "U1", "messages": [message]}))
    body = caught.value.body
    assert caught.value.status == 400
    assert "quickReply.items[0].action.label" in (body.decode() if isinstance(body, bytes) else str(body))


def test_telegram_puts_a_long_label_on_its_own_row(senders, fake_telegram):
    _, telegram = senders
    choices = (m.Choice("🛵 Diantar", data="a"), m.Choice("🏪 Ambil", data="b"),
               m.Choice(LONG_QUESTION, data="faq:7"), m.Choice("➕ Tambah", data="c"), m.Choice("✖️ Batal", data="d"),
               m.Choice("✅ Pesan", data="e"))
    outcome, = telegram.deliver(_request("111111111", m.Reply(text="Pilih ya", choices=choices)))
    assert outcome.status == "sent", outcome.error
    (_chat, method, params), = fake_telegram.sent
    rows = [[button["text"] for button in row] for row in params["reply_markup"]["inline_keyboard"]]
    assert rows == [["🛵 Diantar", "🏪 Ambil"], [LONG_QUESTION], ["➕ Tambah", "✖️ Batal"], ["✅ Pesan"]]


def test_telegram_rows_keep_the_order_and_pair_only_short_labels():
    markup = keyboard(tuple(m.Choice(label, data=str(i)) for i, label in enumerate(
        ["Ya", "🙋 Talk to staff now", "Tidak", "Mungkin", "Nanti"])))
    assert [[b.text for b in row] for row in markup.inline_keyboard] == \
        [["Ya"], ["🙋 Talk to staff now"], ["Tidak", "Mungkin"], ["Nanti"]]
    assert button_rows([]) == []
