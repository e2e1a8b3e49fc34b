"""The real LINE and Telegram SDK clients work against the fake API servers."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import threading
import time
import uuid

import pytest
import requests
import telegram
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    BroadcastRequest,
    Configuration,
    MessageAction,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
    TextMessage,
)
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter

from tests.fakes.line_api import PNG_1X1, FakeLine
from tests.fakes.telegram_api import FakeTelegram

LINE_TOKEN = "test-line-token"
AUTH = {"Authorization": f"Bearer {LINE_TOKEN}", "Content-Type": "application/json"}


# ====================================================================== helpers
@pytest.fixture
def line_api(line_config):
    """A real MessagingApi talking to fake_line."""
    with ApiClient(line_config) as client:
        yield MessagingApi(client)


def text(s: str) -> TextMessage:
    """A LINE text message."""
    return TextMessage(text=s)


def run(coro):
    """Run a coroutine to completion (tests only)."""
    return asyncio.run(coro)


def make_bot(fake: FakeTelegram, token: str | None = None) -> telegram.Bot:
    """A real PTB Bot pointed at the fake."""
    return telegram.Bot(token or fake.token, base_url=f"{fake.url}/bot",
                        base_file_url=f"{fake.url}/file/bot")


# ====================================================================== server basics
def test_server_context_manager_and_stop():
    with FakeLine() as fake:
        assert fake.url.startswith("http://127.0.0.1:")
        s = requests.Session()
        assert s.get(f"{fake.url}/v2/bot/info", headers=AUTH).status_code == 200
    with pytest.raises(requests.ConnectionError):
        s.get(f"{fake.url}/v2/bot/info", headers=AUTH, timeout=2)


def test_recording_headers_and_wait_for(fake_line):
    def later():
        time.sleep(0.05)
        requests.post(f"{fake_line.url}/v2/bot/message/push", headers=AUTH,
                      json={"to": "U1", "messages": [{"type": "text", "text": "x"}]})

    threading.Thread(target=later).start()
    (rec,) = fake_line.wait_for("/v2/bot/message/push", timeout=2)
    assert rec.method == "POST" and rec.path == "/v2/bot/message/push"
    assert rec.headers.get("authorization") == f"Bearer {LINE_TOKEN}"
    assert rec.headers["AUTHORIZATION"] == rec.header("Authorization")
    assert rec.json["to"] == "U1" and json.loads(rec.raw) == rec.json
    assert rec.status == 200 and rec.time <= time.monotonic()
    with pytest.raises(AssertionError, match="expected 2 call"):
        fake_line.wait_for("push", count=2, timeout=0.05)


def test_record_false_counts_only_and_delay(fake_line):
    fake_line.record = False
    for _ in range(3):
        requests.get(f"{fake_line.url}/v2/bot/message/quota", headers=AUTH)
    assert fake_line.requests == [] and fake_line.count_of("/quota") == 3
    assert fake_line.wait_for("/quota", count=3, timeout=0.1) == []
    fake_line.record, fake_line.delay = True, 0.1
    t = time.monotonic()
    requests.get(f"{fake_line.url}/v2/bot/info", headers=AUTH)
    assert time.monotonic() - t >= 0.1


def test_reset_clears_everything(fake_line):
    fake_line.fail_next("/v2/bot/info", 500)
    fake_line.quota = 1
    requests.get(f"{fake_line.url}/v2/bot/profile/U1", headers=AUTH)
    fake_line.reset()
    assert fake_line.requests == [] and fake_line.quota is None and not fake_line.profile_calls
    assert requests.get(f"{fake_line.url}/v2/bot/info", headers=AUTH).status_code == 200


# ====================================================================== LINE
def test_line_reply_with_quick_reply_then_token_is_used(fake_line, line_api):
    items = [QuickReplyItem(action=MessageAction(label=f"o{i}", text=f"o{i}")) for i in range(3)]
    msg = TextMessage(text="pick one", quick_reply=QuickReply(items=items))
    res = line_api.reply_message(ReplyMessageRequest(reply_token="tok-1", messages=[msg]))
    assert len(res.sent_messages) == 1 and res.sent_messages[0].id
    (rec,) = fake_line.calls("/v2/bot/message/reply")
    sent = rec.json["messages"][0]
    assert sent["text"] == "pick one" and len(sent["quickReply"]["items"]) == 3
    assert fake_line.replied == [("tok-1", sent)]
    with pytest.raises(ApiException) as exc:  # reply tokens are single use
        line_api.reply_message(ReplyMessageRequest(reply_token="tok-1", messages=[text("again")]))
    assert exc.value.status == 400 and "Invalid reply token" in exc.value.body


def test_line_invalid_reply_tokens(fake_line, line_api):
    fake_line.expire_reply_token("old")
    with pytest.raises(ApiException) as exc:
        line_api.reply_message(ReplyMessageRequest(reply_token="old", messages=[text("x")]))
    assert exc.value.status == 400 and json.loads(exc.value.body) == {"message": "Invalid reply token"}
    fake_line.strict_reply_tokens = True
    fake_line.register_reply_token("good", user_id="Ualice")
    with pytest.raises(ApiException):
        line_api.reply_message(ReplyMessageRequest(reply_token="unknown", messages=[text("x")]))
    line_api.reply_message(ReplyMessageRequest(reply_token="good", messages=[text("hi")]))
    assert fake_line.delivered_to("Ualice") == [{"type": "text", "text": "hi"}]
    # a retry key is not allowed on reply
    r = requests.post(f"{fake_line.url}/v2/bot/message/reply",
                      headers={**AUTH, "X-Line-Retry-Key": str(uuid.uuid4())},
                      json={"replyToken": "t2", "messages": [{"type": "text", "text": "x"}]})
    assert r.status_code == 400


def test_line_push_retry_key_is_idempotent(fake_line, line_api):
    key = str(uuid.uuid4())
    req = PushMessageRequest(to="U123", messages=[text("hello")])
    first = line_api.push_message_with_http_info(req, x_line_retry_key=key)
    with pytest.raises(ApiException) as exc:
        line_api.push_message(req, x_line_retry_key=key)
    assert exc.value.status == 409
    assert "already accepted" in exc.value.body
    assert exc.value.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert fake_line.delivered == [("U123", {"type": "text", "text": "hello"})]
    assert fake_line.quota_used == 1 and len(fake_line.calls("/v2/bot/message/push")) == 2


def test_line_multicast_limits_and_delivery(fake_line, line_api):
    line_api.multicast(MulticastRequest(to=["U1", "U2"], messages=[text("a"), text("b")]))
    assert fake_line.deliveries_per_user() == {"U1": 2, "U2": 2}
    ids = [f"U{i:032d}" for i in range(501)]
    with pytest.raises(ValueError):  # the SDK itself refuses 501 ids (pydantic)...
        MulticastRequest(to=ids, messages=[text("x")])
    unchecked = MulticastRequest.construct(to=ids, messages=[text("x")])
    with pytest.raises(ApiException) as exc:  # ...and so does the (fake) server
        line_api.multicast(unchecked)
    assert exc.value.status == 400
    assert json.loads(exc.value.body)["details"][0]["property"] == "to"
    assert fake_line.deliveries_per_user() == {"U1": 2, "U2": 2}


def test_line_message_validation_and_auth(fake_line):
    url = f"{fake_line.url}/v2/bot/message/push"
    six = [{"type": "text", "text": str(i)} for i in range(6)]
    r = requests.post(url, headers=AUTH, json={"to": "U1", "messages": six})
    assert r.status_code == 400 and r.json()["details"][0]["property"] == "messages"
    r = requests.post(url, headers=AUTH, json={"to": "U1", "messages": [{"text": "no type"}]})
    assert r.status_code == 400 and r.json()["details"][0]["property"] == "messages[0].type"
    qr = {"items": [{"type": "action", "action": {"type": "message", "label": "x", "text": "x"}}] * 14}
    r = requests.post(url, headers=AUTH,
                      json={"to": "U1", "messages": [{"type": "text", "text": "q", "quickReply": qr}]})
    assert r.status_code == 400 and "quickReply" in r.json()["details"][0]["property"]
    r = requests.post(url, headers={"Authorization": "Bearer nope"},
                      json={"to": "U1", "messages": [{"type": "text", "text": "x"}]})
    assert r.status_code == 401
    assert requests.get(f"{fake_line.url}/v2/bot/nothing", headers=AUTH).status_code == 404
    assert fake_line.delivered == [] and fake_line.calls("/v2/bot/nothing")


def test_line_profile(fake_line, line_api):
    fake_line.profiles["Ualice"] = {"displayName": "Alice", "language": "th"}
    fake_line.profiles_missing.add("Ugone")
    assert line_api.get_profile("Ualice").display_name == "Alice"
    prof = line_api.get_profile("U0000abcd")
    assert prof.display_name == "User abcd" and prof.language == "id"
    with pytest.raises(ApiException) as exc:
        line_api.get_profile("Ugone")
    assert exc.value.status == 404
    assert fake_line.profile_calls_for("Ualice") == 1 and fake_line.profile_calls["Ugone"] == 1


def test_line_injected_429_and_rate_limit(fake_line, line_api):
    fake_line.fail_next("/v2/bot/message/push", 429)
    with pytest.raises(ApiException) as exc:
        line_api.push_message(PushMessageRequest(to="U1", messages=[text("x")]))
    assert exc.value.status == 429 and "Too Many Requests" in exc.value.body
    line_api.push_message(PushMessageRequest(to="U1", messages=[text("x")]))  # only once
    fake_line.rate_limit = {"/v2/bot/message/multicast": 2}
    statuses = []
    for _ in range(4):
        try:
            line_api.multicast(MulticastRequest(to=["U1"], messages=[text("m")]))
            statuses.append(200)
        except ApiException as e:
            statuses.append(e.status)
    assert statuses[:2] == [200, 200] and 429 in statuses[2:] and fake_line.too_many >= 1


def test_line_monthly_quota(fake_line, line_api):
    fake_line.quota = 3
    line_api.multicast(MulticastRequest(to=["U1", "U2"], messages=[text("x")]))
    assert line_api.get_message_quota().value == 3
    assert line_api.get_message_quota_consumption().total_usage == 2
    with pytest.raises(ApiException) as exc:
        line_api.multicast(MulticastRequest(to=["U3", "U4"], messages=[text("x")]))
    assert exc.value.status == 429 and "monthly limit" in exc.value.body
    fake_line.set_followers(["U9"])
    line_api.broadcast(BroadcastRequest(messages=[text("all")]))
    assert fake_line.delivered_to("U9") == [{"type": "text", "text": "all"}]


def test_line_blob_content_loading_and_info(fake_line, line_config):
    fake_line.contents["m1"] = (b"\xff\xd8jpeg", "image/jpeg")
    with ApiClient(line_config) as client:
        blob = MessagingApiBlob(client)
        assert blob.get_message_content("m1") == b"\xff\xd8jpeg"
        assert blob.get_message_content("m2") == PNG_1X1
        api = MessagingApi(client)
        api.show_loading_animation(ShowLoadingAnimationRequest(chat_id="U1", loading_seconds=5))
        assert api.get_bot_info().display_name == "Sapa Test"
    assert [r.path for r in fake_line.calls("/content")] == [
        "/v2/bot/message/m1/content", "/v2/bot/message/m2/content"]
    assert fake_line.loading == [{"chatId": "U1", "loadingSeconds": 5}]


# ====================================================================== Telegram
def test_telegram_get_me_and_send_with_inline_keyboard(fake_telegram):
    async def main():
        async with make_bot(fake_telegram) as bot:
            assert bot.username == "sapa_test_bot"
            kb = InlineKeyboardMarkup([[InlineKeyboardButton("Book", callback_data="book:1")]])
            msg = await bot.send_message(111, "Choose", reply_markup=kb)
            msg2 = await bot.send_message(111, "Again")
            return msg, msg2

    msg, msg2 = run(main())
    assert msg.text == "Choose" and msg.chat.id == 111 and msg.chat.type == "private"
    assert msg.reply_markup.inline_keyboard[0][0].callback_data == "book:1"
    assert msg2.message_id > msg.message_id
    assert fake_telegram.calls("getMe")
    (rec, _) = fake_telegram.calls("sendMessage")
    assert rec.json["reply_markup"] == {"inline_keyboard": [[{"text": "Book", "callback_data": "book:1"}]]}
    assert rec.json["chat_id"] == 111
    assert [(c, m) for c, m, _ in fake_telegram.sent] == [(111, "sendMessage")] * 2
    assert len(fake_telegram.send_times) == 2


def test_telegram_callback_webhook_and_misc(fake_telegram):
    async def main():
        async with make_bot(fake_telegram) as bot:
            assert await bot.answer_callback_query("cbq-1", text="ok") is True
            assert await bot.set_webhook("https://crm.example/tg/hook", secret_token="s3cr3t_-X")
            info = await bot.get_webhook_info()
            await bot.send_chat_action(111, "typing")
            loc = await bot.send_location(111, latitude=13.75, longitude=100.5)
            venue = await bot.send_venue(111, 13.75, 100.5, "Shop", "Main road 1")
            photo = await bot.send_photo(111, b"\x89PNGfake", caption="receipt")
            edited = await bot.edit_message_text("changed", chat_id=111, message_id=loc.message_id)
            with pytest.raises(BadRequest, match="(?i)secret token"):
                await bot.set_webhook("https://x.example", secret_token="bad token!")
            return info, loc, venue, photo, edited

    info, loc, venue, photo, edited = run(main())
    assert fake_telegram.callback_answers[0]["callback_query_id"] == "cbq-1"
    assert fake_telegram.webhook["url"] == "https://crm.example/tg/hook"
    assert fake_telegram.webhook["secret_token"] == "s3cr3t_-X"
    assert info.url == "https://crm.example/tg/hook"
    assert fake_telegram.chat_actions == [(111, "typing")]
    assert loc.location.latitude == 13.75 and venue.venue.title == "Shop"
    assert photo.caption == "receipt" and photo.photo[-1].width == 1280
    assert fake_telegram.calls("sendPhoto")[0].files["photo"][1] == b"\x89PNGfake"
    assert edited.text == "changed" and edited.edit_date is not None


def test_telegram_get_file_and_download(fake_telegram):
    fake_telegram.set_file("AgACphoto", b"JPEGDATA", "photos/file_7.jpg")

    async def main():
        async with make_bot(fake_telegram) as bot:
            f = await bot.get_file("AgACphoto")
            return f, bytes(await f.download_as_bytearray())

    f, data = run(main())
    assert f.file_path.endswith("/file/bot123:ABC/photos/file_7.jpg") and data == b"JPEGDATA"
    assert fake_telegram.calls("file")[0].path == "/file/bot123:ABC/photos/file_7.jpg"


def test_telegram_errors_blocked_not_found_wrong_token(fake_telegram):
    fake_telegram.blocked_chats.add(222)
    fake_telegram.known_chats = {111, 222}

    async def main():
        async with make_bot(fake_telegram) as bot:
            with pytest.raises(Forbidden, match="bot was blocked by the user"):
                await bot.send_message(222, "hi")
            with pytest.raises(BadRequest, match="(?i)chat not found"):
                await bot.send_message(333, "hi")
            await bot.send_message(111, "hi")
        with pytest.raises(InvalidToken):
            async with make_bot(fake_telegram, token="999:WRONG"):
                pass

    run(main())
    assert [c for c, _, _ in fake_telegram.sent] == [111]
    r = requests.post(f"{fake_telegram.url}/bot999:WRONG/getMe")
    assert r.status_code == 404 and r.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


def test_telegram_injected_429_is_retry_after(fake_telegram, monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    fake_telegram.fail_next("sendMessage", 429, retry_after=7)

    async def main():
        async with make_bot(fake_telegram) as bot:
            with pytest.raises(RetryAfter) as exc:
                await bot.send_message(111, "hi")
            await bot.send_message(111, "hi")  # only the next call fails
            return exc.value

    err = run(main())
    assert err.retry_after == dtm.timedelta(seconds=7)
    (first, _) = fake_telegram.calls("sendMessage")
    assert first.status == 429 and first.response["parameters"] == {"retry_after": 7}
    assert len(fake_telegram.sent) == 1


def test_telegram_enforce_limits(fake_telegram, monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    fake_telegram.enforce_limits = True

    async def main():
        async with make_bot(fake_telegram) as bot:
            errors = []
            for i in range(3):
                try:
                    await bot.send_message(111, f"m{i}")
                except RetryAfter as e:
                    errors.append(e.retry_after)
            await bot.send_message(112, "other chat is fine")
            return errors

    errors = run(main())
    assert errors and all(e == dtm.timedelta(seconds=1) for e in errors)
    assert fake_telegram.too_many == len(errors)
    assert [c for c, _, _ in fake_telegram.sent] == [111, 112]


def test_telegram_global_and_group_limits(fake_telegram):
    now = [1000.0]
    fake_telegram.clock = lambda: now[0]  # frozen clock: deterministic windows
    fake_telegram.enforce_limits = True
    url = f"{fake_telegram.url}/bot{fake_telegram.token}/sendMessage"
    with requests.Session() as s:
        codes = [s.post(url, data={"chat_id": 1000 + i, "text": "x"}).status_code for i in range(31)]
        assert codes[:30] == [200] * 30 and codes[30] == 429
        now[0] += 1.0  # the 1-second window has passed
        assert s.post(url, data={"chat_id": 999, "text": "x"}).status_code == 200
        assert s.post(url, data={"chat_id": 999, "text": "x"}).status_code == 429  # 1/s per chat
        fake_telegram.limit_global_per_sec = 1000  # isolate the per-group minute limit
        codes = []
        for _ in range(21):
            now[0] += 1.5
            codes.append(s.post(url, data={"chat_id": -100123, "text": "x"}).status_code)
    assert codes[:20] == [200] * 20 and codes[20] == 429
    assert fake_telegram.calls("sendMessage")[-1].response["parameters"]["retry_after"] > 1
