"""What customers read: every chat text in both languages, buttons that fit by design, no
platform names or internal keys, and no English left in the Indonesian."""

from __future__ import annotations

import re

import pytest

from core.messages import LABEL_LIMIT, label_width
from core.texts import CHAT, MENU_INTENTS, menu_label
from core.words import LANGUAGES

# Words Indonesian customers use as their own (loanwords), allowed in both languages' text.
LOANWORDS = {"chat", "menu", "total", "voucher", "info", "promo", "admin", "inbox", "hmm", "kemang"}
# Every system text a customer can get without asking for anything: errors, opt-out, stale
# buttons, messages the bot cannot read.
SYSTEM_KEYS = ("non_text", "unknown_button", "stale_button", "empty", "sticker", "unsure", "handoff",
               "handoff_unsure", "bad_location", "opted_out", "opted_in", "catalog_empty", "order_not_found",
               "nothing_to_cancel", "staff_link_invalid")
LABEL_KEYS = [key for key in CHAT if key.startswith(("button.", "menu."))]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]{3,}", re.sub(r"\{[^}]*\}", "", text).lower()))


@pytest.mark.parametrize("key", LABEL_KEYS)
def test_every_button_label_fits_the_strictest_limit_in_both_languages(key):
    for language in LANGUAGES:
        label = CHAT.text(key, language)
        assert label_width(label) <= LABEL_LIMIT, f"{key} ({language}) is {label_width(label)} wide: {label!r}"


def test_the_labels_under_test_include_the_menu_and_the_buttons():
    assert {f"menu.{intent}" for intent in MENU_INTENTS} <= set(LABEL_KEYS)
    assert len([key for key in LABEL_KEYS if key.startswith("button.")]) >= 10
    assert menu_label("human_handoff", "id") == "🙋 Hubungi admin"


@pytest.mark.parametrize("key", list(CHAT))
def test_every_text_is_in_both_languages_and_names_no_platform_or_key(key):
    for language in LANGUAGES:
        words = CHAT[key].get(language)
        assert words and words.strip(), f"{key} has no {language} text"
        assert "{channel}" not in words, f"{key} ({language}) names the channel"
        assert not re.search(r"\bLINE\b|\bTelegram\b|\bsimulator\b", words), f"{key} ({language}) names a platform"
        shown = re.sub(r"\{[^}]*\}", "", words)
        assert not re.search(r"\b[a-z]+_[a-z_]+\b|\b\w+=\w+|\b\w+:\w+:", shown), f"{key} ({language}) shows a key"


@pytest.mark.parametrize("key", SYSTEM_KEYS)
def test_system_texts_are_indonesian_in_indonesian(key):
    assert key in CHAT
    english = (_words(CHAT[key]["id"]) & _words(CHAT[key]["en"])) - LOANWORDS
    assert not english, f"{key}: English words in the Indonesian text: {sorted(english)}"


def test_the_english_word_check_can_fail():
    assert (_words("Ketik STOP kapan saja") & _words("Type STOP any time")) - LOANWORDS == {"stop"}


def test_no_wording_key_is_written_twice():
    """A key written twice in a catalog silently keeps the last wording (a summary once read as chat)."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(__file__).resolve().parents[2].joinpath("core", "texts.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            assert len(keys) == len(set(keys)), sorted({k for k in keys if keys.count(k) > 1})
