"""Photos staff upload: checked, stored, served at an unguessable URL and sent by URL."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image
from sqlmodel import select

from crm.media import MAX_PREVIEW_BYTES, MediaError, check_image
from crm.models import Message


def _png(size=(40, 30), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def _noisy_jpeg(side: int) -> bytes:
    """A photo-like JPEG too large for LINE's 1 MB preview (random pixels do not compress)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "JPEG", quality=95)
    return out.getvalue()


def save_image(data, folder):
    image = check_image(data)
    image.write(folder)
    return image


def test_a_small_photo_is_its_own_preview(tmp_path):
    stored = save_image(_png(), tmp_path)
    assert stored.name.endswith(".png") and stored.preview == stored.name
    assert (tmp_path / stored.name).read_bytes() == _png()


def test_a_photo_over_a_megabyte_gets_a_smaller_jpeg_preview(tmp_path):
    data = _noisy_jpeg(1400)
    assert len(data) > MAX_PREVIEW_BYTES
    stored = save_image(data, tmp_path)
    preview = (tmp_path / stored.preview).read_bytes()
    assert stored.preview.endswith("-preview.jpg") and len(preview) <= MAX_PREVIEW_BYTES
    with Image.open(io.BytesIO(preview)) as image:
        assert image.format == "JPEG" and max(image.size) == 1024


@pytest.mark.parametrize("data, reason", [
    (b"", "image_empty"),
    (b"GIF89a" + b"\0" * 100, "image_type"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image_type"),
    (_png()[:60], "image_type"),  # truncated
    (b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024), "image_too_large"),
])
def test_what_is_not_a_jpeg_or_png_photo_is_refused_and_nothing_is_stored(tmp_path, data, reason):
    with pytest.raises(MediaError, match=reason):
        save_image(data, tmp_path / "media")
    assert not (tmp_path / "media").exists()


def test_a_gif_disguised_with_a_png_name_is_refused(tmp_path):
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    with pytest.raises(MediaError, match="image_type"):
        save_image(out.getvalue(), tmp_path)


def test_an_uploaded_photo_goes_to_line_by_its_public_url_and_is_served_there(agent, app, client, line_chat, fake_line,
                                                                             session):
    conversation_id, _ = line_chat
    app.config["SAPA"].public_url = "https://shop.example"
    fake_line.reset()
    response = agent.post(f"/inbox/c/{conversation_id}/reply",
                          {"image_file": (io.BytesIO(_png()), "menu.png"), "text": "Ini menunya kak"})
    assert response.status_code == 303
    sent = fake_line.calls("/v2/bot/message/push")[0].json["messages"]
    assert [m["type"] for m in sent] == ["image", "text"]
    url = sent[0]["originalContentUrl"]
    assert url.startswith("https://shop.example/media/") and sent[0]["previewImageUrl"] == url
    served = client.get(url.removeprefix("https://shop.example"))  # no login: LINE fetches it
    assert served.status_code == 200 and served.mimetype == "image/png" and served.data == _png()
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    row = session.exec(select(Message).where(Message.sender == "staff", Message.type == "image")).one()
    assert row.payload["reply"]["image_url"] == url
    page = agent.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    assert f'src="{url.removeprefix("https://shop.example")}"' in page  # shown from this origin


def test_uploads_need_an_https_public_url_for_line_and_bad_files_are_refused(agent, app, line_chat, fake_line, session,
                                                                           settings):
    conversation_id, _ = line_chat
    fake_line.reset()
    cases = [({"image_file": (io.BytesIO(_png()), "a.png")}, "SAPA_PUBLIC_URL"),  # http://127.0.0.1:8000
             ({"image_file": (io.BytesIO(b"not an image"), "a.png")}, "JPEG atau PNG"),
             ({"image_file": (io.BytesIO(_png()), "a.png"), "image_url": "https://x.example/a.png"}, "satu gambar")]
    for i, (form, reason) in enumerate(cases):
        if i:
            app.config["SAPA"].public_url = "https://shop.example"
        response = agent.post(f"/inbox/c/{conversation_id}/reply", form)
        assert response.status_code == 400 and reason in response.get_data(as_text=True), form
    assert session.exec(select(Message).where(Message.sender == "staff")).all() == []
    assert not fake_line.calls("/v2/bot/message/push")
    assert not os.path.exists(settings.media_dir)  # nothing kept for a refused reply


def test_the_simulator_customer_gets_uploads_from_a_plain_http_install(agent, client, webhooks, session):
    from crm.models import Conversation

    sent = client.post("/simulator/api/send", json={"user": "sim-tester", "kind": "text", "text": "halo"})
    assert sent.status_code == 200
    conversation = session.exec(select(Conversation).where(Conversation.channel == "simulator")).one()
    response = agent.post(f"/inbox/c/{conversation.id}/reply", {"image_file": (io.BytesIO(_png()), "a.png")})
    assert response.status_code == 303
    items = client.get("/simulator/api/messages?user=sim-tester").get_json()["items"]
    url = items[-1]["payload"]["reply"]["image_url"]
    assert url.startswith("http://127.0.0.1:8000/media/")
    assert client.get(url.removeprefix("http://127.0.0.1:8000")).data == _png()


@pytest.mark.parametrize("name", ["../sapa.db", "x.png", "AAAAAAAAAAAAAAAAAAAAAA.gif", "AAAAAAAAAAAAAAAAAAAAAA.png"])
def test_media_outside_the_uploads_is_not_served(client, name):
    assert client.get(f"/media/{name}").status_code == 404
