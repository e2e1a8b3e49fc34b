"""Images staff upload to send: checked with Pillow, kept on disk, served at an unguessable URL.

LINE and Telegram fetch an image message from a public URL, so an upload is stored under
`media_dir` and served at `/media/<name>` without a login (the name carries 128 random
bits); it is written only once its reply is accepted. Telegram fetches photos of up to
5 MB by URL; LINE also wants a preview of at most 1 MB: a larger upload gets a JPEG
preview, shrunk to fit.

What is stored (and so sent to the customer) carries no metadata: a phone photo's EXIF holds
where it was taken (GPS), when and with what. The pixel count is read from the file's header
and refused before anything is decoded: decoding costs 3-4 bytes a pixel.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, send_from_directory
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # what Telegram fetches for a photo by URL (LINE: 10 MB)
MAX_PREVIEW_BYTES = 1024 * 1024  # LINE's limit for its preview
PREVIEW_PIXELS = 1024  # the preview's longer side
MAX_PIXELS = 25_000_000  # ~100 MB decoded; a larger "image" is a decompression bomb, not a photo to chat
FORMATS = {"JPEG": "jpg", "PNG": "png"}  # what both platforms show as a photo
ORIENTATION = 0x0112  # the one EXIF tag kept: without it a phone photo shows on its side
NAME = re.compile(r"^[A-Za-z0-9_-]{22}(-preview)?\.(jpg|png)$")

media = Blueprint("media", __name__)


class MediaError(ValueError):
    """An upload refused; the message is an i18n key of the inbox."""


@dataclass(frozen=True)
class CheckedImage:
    """An upload that passed the checks, with the names it gets on disk (not written yet)."""

    data: bytes
    name: str
    preview: str  # the same file when small enough
    preview_data: bytes | None = None

    def write(self, media_dir: str | Path) -> None:
        """Put the image (and its preview) in `media_dir`."""
        folder = Path(media_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / self.name).write_bytes(self.data)
        if self.preview_data is not None:
            (folder / self.preview).write_bytes(self.preview_data)


def check_image(data: bytes) -> CheckedImage:
    """`data` as a JPEG or PNG photo LINE and Telegram can show, or MediaError with the reason."""
    if not data:
        raise MediaError("image_empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise MediaError("image_too_large")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = FORMATS.get(image.format or "")
            if kind is None:
                raise MediaError("image_type")
            if image.width * image.height > MAX_PIXELS:
                raise MediaError("image_too_many_pixels")
            image.load()  # decodes it: a truncated or corrupt file fails here
            data = _without_metadata(image)
            preview = None if len(data) <= MAX_PREVIEW_BYTES else _preview(image)
    except Image.DecompressionBombError:  # Pillow's own, larger bound, checked while opening
        raise MediaError("image_too_many_pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise MediaError("image_type") from None
    if len(data) > MAX_UPLOAD_BYTES:
        raise MediaError("image_too_large")
    token = secrets.token_urlsafe(16)
    name = f"{token}.{kind}"
    if preview is None:
        return CheckedImage(data=data, name=name, preview=name)
    return CheckedImage(data=data, name=name, preview=f"{token}-preview.jpg", preview_data=preview)


def _without_metadata(image: Image.Image) -> bytes:
    """The image saved again with its pixels and colour profile only: no EXIF/GPS, XMP, comments or text chunks."""
    out = io.BytesIO()
    icc_profile = image.info.get("icc_profile")
    if image.format == "JPEG":
        # "keep" reuses the file's own quantisation tables and subsampling: no visible loss.
        orientation, kept = image.getexif().get(ORIENTATION), Image.Exif()
        if orientation:
            kept[ORIENTATION] = orientation
        image.save(out, "JPEG", quality="keep", exif=kept.tobytes() if orientation else b"", icc_profile=icc_profile,
                   comment=b"")
    else:
        ImageOps.exif_transpose(image, in_place=True)  # in place: a copy would double the memory
        image.save(out, "PNG", icc_profile=icc_profile)
    return out.getvalue()


def _preview(image: Image.Image) -> bytes:
    small = ImageOps.exif_transpose(image).convert("RGB")
    small.thumbnail((PREVIEW_PIXELS, PREVIEW_PIXELS))
    for quality in (85, 70, 50):
        out = io.BytesIO()
        small.save(out, "JPEG", quality=quality, optimize=True)
        if out.tell() <= MAX_PREVIEW_BYTES:
            return out.getvalue()
    raise MediaError("image_too_large")


def image_src(url: str | None) -> str:
    """Where the inbox shows a sent image from: our own uploads by path, others over https only."""
    url = url or ""
    own = current_app.config["SAPA"].public_url.rstrip("/") + "/media/"
    if url.startswith(own) and NAME.match(url[len(own):]):
        return url[len(own) - len("/media/"):]  # same origin, whichever address the inbox is opened on
    return url if url.startswith("https://") else ""


@media.get("/media/<name>")
def uploaded(name: str):
    """An uploaded image, for the platforms to fetch (no login: the name is the secret)."""
    if not NAME.match(name):
        abort(404)
    response = send_from_directory(Path(current_app.config["SAPA"].media_dir).resolve(), name, max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def register(app: Flask) -> None:
    """Serve the uploaded images (/media/…)."""
    app.register_blueprint(media)
