"""A simulated customer sends a photo as a platform customer does: stored, answered, shown to staff."""

from __future__ import annotations

import base64
import io

from PIL import Image
from sqlmodel import select

from crm.models import Message


def _photo(kind: str = "PNG", size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, kind)
    return out.getvalue()


def _send(client, data: bytes | str, user: str = "sim-photo"):
    image = data if isinstance(data, str) else base64.b64encode(data).decode()
    return client.post("/simulator/api/send", json={"user": user, "kind": "image", "image": image})


def test_a_simulated_photo_is_answered_and_staff_can_open_it(client, session, auth):
    assert _send(client, _photo()).status_code == 200
    items = client.get("/simulator/api/messages?user=sim-photo").get_json()["items"]
    photo = next(item for item in items if item["direction"] == "in")
    assert photo["type"] == "image" and photo["payload"]["media"].endswith(".png")
    assert any(item["direction"] == "out" for item in items)  # the bot answered the photo
    content = client.get(f"/api/v1/messages/{photo['id']}/content", headers=auth)
    assert content.status_code == 200 and content.mimetype == "image/png"
    assert Image.open(io.BytesIO(content.data)).size == (40, 30)
    shown = client.get("/media/" + photo["payload"]["media"])  # the simulator shows it in the chat
    assert shown.status_code == 200 and shown.data == content.data


def test_what_is_not_a_photo_is_refused_with_the_reason_and_nothing_is_stored(client, session, settings):
    gif = _send(client, _photo("GIF"))
    assert gif.status_code == 400 and "JPEG" in gif.get_json()["error"]
    garbage = _send(client, "not base64 at all!")
    assert garbage.status_code == 400 and "base64" in garbage.get_json()["error"]
    empty = _send(client, "")
    assert empty.status_code == 400 and "kosong" in empty.get_json()["error"]
    assert session.exec(select(Message)).all() == []
