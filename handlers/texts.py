"""Bot wording in Indonesian and English, kept in one place."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "id": "Halo {name}! 👋 Selamat datang di {shop}. Aku asisten chat {shop}: bisa bantu pesan, "
              "cek pesanan, info promo, dan cari toko terdekat. Mau apa hari ini?",
        "en": "Hi {name}! 👋 Welcome to {shop}. I'm {shop}'s chat assistant: I can help you order, "
              "check an order, see promos and find the nearest store. What would you like today?",
    },
    "welcome_back": {
        "id": "Halo lagi {name}, senang kamu kembali! 😊 Ada yang bisa dibantu?",
        "en": "Welcome back, {name}! 😊 How can I help?",
    },
    "menu": {
        "id": "Halo {name}! Aku bisa bantu hal-hal ini, pilih saja ya 👇",
        "en": "Hi {name}! Here is what I can help with, just pick one 👇",
    },
    "menu_group": {
        "id": "Halo semua! Aku asisten {shop}. Mention aku kalau butuh bantuan ya.",
        "en": "Hi everyone! I'm {shop}'s assistant. Mention me when you need help.",
    },
    "choice_received": {
        "id": "Siap, kamu pilih \"{label}\". Tim kami akan bantu sebentar lagi 🙏",
        "en": "Got it, you chose \"{label}\". Our team will help you shortly 🙏",
    },
    "non_text": {
        "id": "Terima kasih, sudah kami terima 👍 Ada yang bisa dibantu?",
        "en": "Thanks, we got it 👍 How can we help?",
    },
    "unknown_button": {
        "id": "Maaf, tombol itu sudah tidak berlaku. Ini pilihan terbaru ya 👇",
        "en": "Sorry, that button has expired. Here are the current options 👇",
    },
}

MENU_CHOICES: list[tuple[str, dict[str, str]]] = [
    ("order", {"id": "🛒 Pesan", "en": "🛒 Order"}),
    ("order_status", {"id": "📦 Cek pesanan", "en": "📦 My order"}),
    ("promotion", {"id": "🎁 Promo", "en": "🎁 Promos"}),
    ("location", {"id": "📍 Toko terdekat", "en": "📍 Nearest store"}),
    ("faq", {"id": "❓ Tanya-tanya", "en": "❓ Questions"}),
    ("human_handoff", {"id": "🙋 Bicara dengan admin", "en": "🙋 Talk to staff"}),
]


def text(key: str, language: str, **values: str) -> str:
    """The wording for `key` in `language` (Indonesian when unknown), with values filled in."""
    variants = TEXTS[key]
    return variants.get(language, variants["id"]).format(**values)
