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


def _png_of_megapixels(megapixels: int) -> bytes:
    """A one-colour PNG of that many pixels: tiny compressed, large decoded (1 bit a pixel while made)."""
    side = int((megapixels * 1_000_000) ** 0.5) + 1
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    return out.getvalue()


def _gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° to show
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "S", 2: (6.0, 15.0, 38.5), 3: "E", 4: (106.0, 48.0, 51.0)}  # GPS: Jakarta
    return exif


def test_a_photo_over_25_megapixels_is_refused_from_its_header(tmp_path):
    data = _png_of_megapixels(26)
    assert len(data) < 100_000
    with pytest.raises(MediaError, match="image_too_many_pixels"):
        save_image(data, tmp_path / "media")
    assert not (tmp_path / "media").exists()
    assert save_image(_png_of_megapixels(24), tmp_path).name.endswith(".png")


def test_a_50_megapixel_upload_gets_a_clear_400(agent, app, line_chat):
    conversation_id, _ = line_chat
    app.config["SAPA"].public_url = "https://shop.example"
    response = agent.post(f"/inbox/c/{conversation_id}/reply",
                          {"image_file": (io.BytesIO(_png_of_megapixels(50)), "besar.png")})
    assert response.status_code == 400 and "25 megapiksel" in response.get_data(as_text=True)


def test_gps_and_other_metadata_are_stripped_from_what_is_stored_and_sent(tmp_path):
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, "JPEG", quality=90, exif=_gps_exif(), comment=b"rahasia")
    with Image.open(out) as original:
        assert original.getexif().get_ifd(0x8825) and original.info["comment"] == b"rahasia"
    stored = save_image(out.getvalue(), tmp_path)
    with Image.open(tmp_path / stored.name) as image:
        assert image.format == "JPEG" and image.size == (64, 48)
        assert dict(image.getexif()) == {0x0112: 6}  # only the orientation, so it still shows upright
        assert "comment" not in image.info and b"PhoneMaker" not in (tmp_path / stored.name).read_bytes()


def test_png_text_and_exif_chunks_are_stripped_and_the_orientation_applied(tmp_path):
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_text("Location", "-6.2607,106.8137")
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "PNG", exif=_gps_exif(), pnginfo=text)
    stored = save_image(out.getvalue(), tmp_path)
    data = (tmp_path / stored.name).read_bytes()
    assert b"Location" not in data and b"eXIf" not in data and b"PhoneMaker" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (30, 40) and not image.getexif()


def test_a_large_photo_and_its_preview_keep_no_gps(tmp_path):
    out = io.BytesIO()
    Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3)).save(out, "JPEG", quality=95,
                                                                           exif=_gps_exif())
    stored = save_image(out.getvalue(), tmp_path)
    assert stored.preview != stored.name
    for name in (stored.name, stored.preview):
        with Image.open(tmp_path / name) as image:
            assert not image.getexif().get_ifd(0x8825), name
