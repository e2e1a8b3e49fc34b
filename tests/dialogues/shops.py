"""The two shops the dialogues run against: the demo coffee chain, and a bakery created through the API."""

from __future__ import annotations

from sqlmodel import Session, select

from core.db import session_scope
from crm import demo
from crm.demo_catalog import load_catalog
from crm.stores import Store

_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _every_day(start: str, end: str) -> dict:
    return {day: [[start, end]] for day in _DAY}


BAKERY_PRODUCTS = [
    {"sku": "RK-SOBEK", "name": "Roti Sobek Coklat", "name_en": "Chocolate Pull-apart Bread", "category": "Roti",
     "price": 18_000, "aliases": ["roti sobek", "sobek coklat"]},
    {"sku": "RK-CRALM", "name": "Croissant Almond", "name_en": "Almond Croissant", "category": "Pastry",
     "price": 32_000, "aliases": ["croissant", "almond croissant"]},
    {"sku": "RK-DONAT", "name": "Donat Gula", "name_en": "Sugar Donut", "category": "Roti", "price": 8_000,
     "aliases": ["donat", "donut", "donat gula"]},
    {"sku": "RK-PANDAN", "name": "Bolu Pandan", "name_en": "Pandan Chiffon Cake", "category": "Kue",
     "price": 45_000, "aliases": ["bolu", "pandan cake", "chiffon pandan"]},
    {"sku": "RK-LAPIS", "name": "Lapis Legit", "name_en": "Layer Cake", "category": "Kue", "price": 25_000,
     "aliases": ["lapis", "kue lapis"]},
    {"sku": "RK-NASTAR", "name": "Nastar", "name_en": "Pineapple Tarts", "category": "Kue", "price": 120_000,
     "stock": 5, "aliases": ["kue nastar", "nastar toples"]},
    {"sku": "RK-TAWAR", "name": "Roti Tawar Gandum", "name_en": "Whole Wheat Bread", "category": "Roti",
     "price": 28_000, "aliases": ["roti tawar", "roti gandum"]},
    {"sku": "RK-BOLEN", "name": "Pisang Bolen", "name_en": "Banana Pastry", "category": "Pastry", "price": 15_000,
     "aliases": ["bolen", "bolen pisang"]},
    {"sku": "RK-CHEESE", "name": "Cheese Roll", "name_en": "Roti Keju", "category": "Roti", "price": 20_000,
     "aliases": ["roti keju", "cheeseroll"]},
    {"sku": "RK-KOPI", "name": "Kopi Hitam", "name_en": "Black Coffee", "category": "Minuman", "price": 12_000,
     "aliases": ["kopi", "kopi item"]},
    {"sku": "RK-TEH", "name": "Es Teh Manis", "name_en": "Sweet Iced Tea", "category": "Minuman", "price": 8_000,
     "aliases": ["es teh", "teh manis"]},
]
BAKERY_STORES = [
    {"name": "Roti Kita Tebet", "area": "Jakarta Selatan", "lat": -6.2297, "lon": 106.8532,
     "address": "Jl. Tebet Raya No. 30, Tebet, Jakarta Selatan", "opening_hours": _every_day("06:00", "20:00")},
    {"name": "Roti Kita Margonda", "area": "Depok", "lat": -6.3686, "lon": 106.8322,
     "address": "Jl. Margonda Raya No. 100, Depok",
     "opening_hours": {**_every_day("06:00", "20:00"), "mon": []}},
    {"name": "Roti Kita Summarecon", "area": "Bekasi", "lat": -6.2260, "lon": 107.0010,
     "address": "Summarecon Mall Bekasi, Bekasi", "opening_hours": _every_day("10:00", "21:00")},
]
BAKERY_SETTINGS = {
    "payment_methods": [
        {"code": "qris", "label": "QRIS", "label_en": "QRIS", "fulfilment": ["delivery", "pickup"]},
        {"code": "transfer", "label": "Transfer bank", "label_en": "Bank transfer", "fulfilment": ["delivery", "pickup"]},
        {"code": "cash", "label": "Tunai di kasir", "label_en": "Cash at the counter", "fulfilment": ["pickup"]},
    ],
    "delivery": {"mode": "flat", "flat_fee": 10_000, "base_fee": 10_000, "base_km": 0, "per_km": 0,
                 "free_above": 100_000, "min_order": 25_000, "max_km": 30},
    "staff_hours": _every_day("07:00", "17:00"),
}
BAKERY_FAQS = [
    {"category": "outlet", "question": "Jam buka Roti Kita jam berapa?",
     "answer": "Tebet dan Margonda buka 06.00–20.00 (Margonda tutup hari Senin), Summarecon 10.00–21.00.",
     "question_en": "What are your opening hours?",
     "answer_en": "Tebet and Margonda open 06:00–20:00 (Margonda closed on Monday), Summarecon 10:00–21:00.",
     "keywords": ["jam buka", "buka", "tutup", "jam tutup", "opening hours", "open", "close"]},
    {"category": "pembayaran", "question": "Bisa bayar pakai apa?",
     "answer": "QRIS, transfer bank, atau tunai di kasir (untuk ambil di toko).",
     "question_en": "How can I pay?", "answer_en": "QRIS, bank transfer, or cash at the counter (pickup only).",
     "keywords": ["bayar", "pembayaran", "qris", "transfer", "tunai", "cash", "cod", "pay", "payment"]},
    {"category": "pengiriman", "question": "Berapa ongkir dan minimal pesanan antar?",
     "answer": "Ongkir Rp10.000, gratis untuk belanja di atas Rp100.000. Minimal pesanan antar Rp25.000.",
     "question_en": "How much is delivery and is there a minimum?",
     "answer_en": "Delivery is Rp10,000, free above Rp100,000. Delivery orders need at least Rp25,000.",
     "keywords": ["ongkir", "ongkos kirim", "antar", "delivery", "minimal", "minimum", "gratis ongkir", "fee"]},
    {"category": "produk", "question": "Apakah produk Roti Kita halal?",
     "answer": "Ya, semua produk Roti Kita halal dan tanpa pengawet.",
     "question_en": "Is your food halal?", "answer_en": "Yes, everything is halal and preservative-free.",
     "keywords": ["halal", "pengawet", "preservative"]},
]


def open_coffee_shop(runtime) -> dict[int, str]:
    """The demo catalog, stores, FAQs and settings; returns store id → name."""
    with session_scope(runtime.engine) as session:
        demo.load_products(session)
        load_catalog(session)  # with the demo shop's settings
    return _store_names(runtime)


def open_bakery(client, auth: dict, runtime) -> dict[int, str]:
    """The bakery, created through the API as a shop owner would; returns store id → name."""
    for body in BAKERY_PRODUCTS:
        assert client.post("/api/v1/products", json=body, headers=auth).status_code == 201
    for body in BAKERY_STORES:
        assert client.post("/api/v1/stores", json=body, headers=auth).status_code == 201
    for body in BAKERY_FAQS:
        assert client.post("/api/v1/faqs", json=body, headers=auth).status_code == 201
    response = client.patch("/api/v1/settings", json=BAKERY_SETTINGS, headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    return _store_names(runtime)


def _store_names(runtime) -> dict[int, str]:
    with Session(runtime.engine) as session:
        return {store.id: store.name for store in session.exec(select(Store)).all()}
