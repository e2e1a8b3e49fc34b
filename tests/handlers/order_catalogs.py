"""Two shops' terms for reading orders: the demo coffee shop and a made-up bakery (tests and bench)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from crm.demo import PRODUCTS
from crm.demo_catalog import STORES
from handlers.nlu.order_text import PaymentTerm, ProductTerm, ShopTerms, StoreTerm

JAKARTA = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 12, 5, 19, 0, tzinfo=JAKARTA)  # a Saturday evening

DEMO = ShopTerms(
    products=tuple(ProductTerm(id=n, name=name, name_en=name_en, aliases=tuple(aliases), category=category)
                   for n, (_, name, name_en, category, _, _, aliases, _) in enumerate(PRODUCTS, start=1)),
    stores=tuple(StoreTerm(id=n, name=s["name"], area=s["area"], address=s["address"])
                 for n, s in enumerate(STORES, start=1)),
    payments=(PaymentTerm("qris", "QRIS"), PaymentTerm("transfer", "Transfer bank", "Bank transfer"),
              PaymentTerm("cod", "Bayar di tempat (COD)", "Cash on delivery")),
)
BAKERY = ShopTerms(
    products=(
        ProductTerm(101, "Roti Sobek Coklat", "Chocolate Pull-apart Bread", ("roti sobek",), "Roti"),
        ProductTerm(102, "Bolu Pandan", "Pandan Chiffon Cake", ("pandan cake",), "Kue"),
        ProductTerm(103, "Donat Gula", "Sugar Donut", ("donat", "donut"), "Kue"),
        ProductTerm(104, "Kue Lapis Legit", "Layered Spice Cake", ("lapis legit",), "Kue"),
        ProductTerm(105, "Croissant Almond", "Almond Croissant", (), "Pastry"),
        ProductTerm(106, "Sourdough", "Sourdough Loaf", ("roti sourdough",), "Roti"),
        ProductTerm(107, "Brownies Panggang", "Baked Brownies", ("brownies",), "Kue"),
    ),
    stores=(StoreTerm(201, "Toko Roti Nusantara Cihampelas", "Bandung", "Jl. Cihampelas No. 160, Bandung"),
            StoreTerm(202, "Toko Roti Nusantara Tunjungan", "Surabaya", "Jl. Tunjungan No. 30, Surabaya"),
            StoreTerm(203, "Toko Roti Nusantara Menteng", "Jakarta Pusat", "Jl. Cikini Raya No. 5, Jakarta")),
    payments=(PaymentTerm("cash", "Tunai", "Cash"), PaymentTerm("transfer", "Transfer BCA"), PaymentTerm("ovo", "OVO")),
)
