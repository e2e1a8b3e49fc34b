"""The inbox speaks Indonesian and English from one catalog."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from broadcasts.web.words import WORDS as MARKETING_WORDS
from crm.inbox import i18n

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "crm" / "inbox" / "templates" / "inbox"
MARKETING = ROOT / "broadcasts" / "templates" / "marketing"  # the marketer's screens use the same catalog


def test_every_key_has_both_languages_and_the_same_placeholders():
    for key, texts in i18n.CATALOG.items():
        assert set(texts) == set(i18n.LANGUAGES), key
        assert all(texts.values()), key
        fields = {language: set(re.findall(r"\{(\w+)\}", text)) for language, text in texts.items()}
        assert fields["id"] == fields["en"], key


def test_every_key_used_in_templates_exists():
    used = set()
    for template in [*TEMPLATES.glob("*.html"), *MARKETING.glob("*.html")]:
        used |= set(re.findall(r"""\bt\(["']([a-z0-9_]+)["']\s*[,)]""", template.read_text()))
    known = set(i18n.CATALOG) | set(MARKETING_WORDS)  # the marketer's screens add theirs when the app serves them
    assert used and used <= known, used - known


def test_register_refuses_a_missing_language():
    with pytest.raises(ValueError):
        i18n.register({"campaigns": {"en": "Campaigns"}})


def test_error_codes_have_texts():
    assert i18n.t("err_text_too_long", "en", arg="5000") == "Text too long (max 5000 characters)."
    assert i18n.error_text("text_too_long:5000") != "text_too_long:5000"


def test_login_page_follows_the_language_cookie(client):
    client.set_cookie("lang", "en")
    assert "Log in to Sapa" in client.get("/inbox/login").get_data(as_text=True)
    client.set_cookie("lang", "id")
    assert "Masuk ke Sapa" in client.get("/inbox/login").get_data(as_text=True)
