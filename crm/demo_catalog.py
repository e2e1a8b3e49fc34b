"""Demo catalog for "Sapa Coffee": stores, promotions, FAQ entries and shop settings (idempotent).

Each part is loaded only when its table holds none of the demo rows yet (matched by
name, title, question or settings key), so running `sapa demo` twice adds nothing the
second time and never touches a shop's own data.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from core.db import utcnow
from crm.faq import FaqEntry, create_faq
from crm.promotions import Promotion, create_promotion
from crm.shop_settings import ShopSetting, save_settings
from crm.stores import Store, create_store

_DAILY = {day: [["07:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
_OFFICE = {**{day: [["06:30", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
           "sat": [["08:00", "17:00"]], "sun": []}  # SCBD offices are empty on Sunday
_LATE = {**{day: [["10:00", "01:00"]] for day in ("mon", "tue", "wed", "thu")},
         "fri": [["10:00", "03:00"]], "sat": [["10:00", "03:00"]], "sun": [["10:00", "01:00"]]}
_MALL = {day: [["10:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}

STORES = [
    {"name": "Sapa Coffee Kemang", "area": "Jakarta Selatan", "lat": -6.2608, "lon": 106.8137,
     "address": "Jl. Kemang Raya No. 12, Bangka, Mampang Prapatan, Jakarta Selatan 12730",
     "phone": "021-7190-1234", "opening_hours": _LATE},
    {"name": "Sapa Coffee Blok M", "area": "Jakarta Selatan", "lat": -6.2441, "lon": 106.7997,
     "address": "Jl. Melawai Raya No. 8, Kebayoran Baru, Jakarta Selatan 12160",
     "phone": "021-7201-5678", "opening_hours": _DAILY},
    {"name": "Sapa Coffee SCBD", "area": "Jakarta Selatan", "lat": -6.2255, "lon": 106.8088,
     "address": "Jl. Jend. Sudirman Kav. 52-53, SCBD Lot 8, Jakarta Selatan 12190",
     "phone": "021-5140-2233", "opening_hours": _OFFICE},
    {"name": "Sapa Coffee Menteng", "area": "Jakarta Pusat", "lat": -6.1960, "lon": 106.8335,
     "address": "Jl. HOS Cokroaminoto No. 45, Menteng, Jakarta Pusat 10310",
     "phone": "021-3190-4455", "opening_hours": _DAILY},
    {"name": "Sapa Coffee Kelapa Gading", "area": "Jakarta Utara", "lat": -6.1573, "lon": 106.9080,
     "address": "Mal Kelapa Gading 3 Lt. GF, Jl. Boulevard Kelapa Gading, Jakarta Utara 14240",
     "phone": "021-4585-6677", "opening_hours": _MALL},
    {"name": "Sapa Coffee BSD", "area": "Tangerang Selatan", "lat": -6.3017, "lon": 106.6530,
     "address": "Jl. Pahlawan Seribu, Ruko Golden Boulevard Blok C-7, BSD City, Tangerang Selatan 15322",
     "phone": "021-5316-7788", "opening_hours": _DAILY},
    {"name": "Sapa Coffee Dago", "area": "Bandung", "lat": -6.8853, "lon": 107.6134,
     "address": "Jl. Ir. H. Juanda No. 120, Dago, Coblong, Bandung 40132",
     "phone": "022-2501-9900", "opening_hours": _DAILY},
    {"name": "Sapa Coffee Surabaya", "area": "Surabaya", "lat": -7.2894, "lon": 112.7340,
     "address": "Jl. Raya Darmo No. 77, Wonokromo, Surabaya 60241",
     "phone": "031-5678-1212", "opening_hours": _MALL},
]

SETTINGS = {
    "payment_methods": [
        {"code": "qris", "label": "QRIS", "label_en": "QRIS",
         "instructions": "Kode QRIS kami kirim di chat ini begitu pesanan dikonfirmasi; bisa dibayar pakai "
                         "GoPay, OVO, DANA, ShopeePay atau m-banking.",
         "instructions_en": "We send the QRIS code in this chat once the order is confirmed; pay with GoPay, "
                            "OVO, DANA, ShopeePay or mobile banking."},
        {"code": "transfer", "label": "Transfer bank", "label_en": "Bank transfer",
         "instructions": "Transfer ke BCA 123-456-7890 a.n. PT Sapa Kopi Nusantara, lalu kirim foto bukti "
                         "transfernya di chat ini ya.",
         "instructions_en": "Transfer to BCA 123-456-7890 (PT Sapa Kopi Nusantara), then send a photo of the "
                            "receipt in this chat."},
        {"code": "cod", "label": "COD / tunai", "label_en": "Cash / COD",
         "instructions": "Bayar tunai saat pesanan diterima atau diambil.",
         "instructions_en": "Pay in cash when you receive or collect the order."},
    ],
    "delivery": {"mode": "per_km", "base_fee": 8_000, "base_km": 3, "per_km": 2_500, "free_above": 150_000,
                 "min_order": 30_000, "max_km": 25},
    "staff_hours": {day: [["08:00", "21:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
}

FAQS = [
    {"category": "pembayaran",
     "question": "Bisa bayar pakai apa saja? QRIS, transfer, atau COD?",
     "answer": "Bisa kak! Kami terima QRIS (semua e-wallet: GoPay, OVO, DANA, ShopeePay), transfer bank "
               "BCA/Mandiri/BRI, kartu debit/kredit di outlet, dan COD (bayar di tempat) untuk area Jabodetabek.",
     "question_en": "Which payment methods do you accept? QRIS, bank transfer, cash on delivery?",
     "answer_en": "We accept QRIS (any e-wallet: GoPay, OVO, DANA, ShopeePay), bank transfer to BCA/Mandiri/BRI, "
                  "debit/credit cards in our outlets, and cash on delivery (COD) in Greater Jakarta.",
     "keywords": ["bayar", "pembayaran", "qris", "transfer", "cod", "gopay", "ovo", "dana", "shopeepay",
                  "e-wallet", "kartu kredit", "debit", "payment", "pay", "cash"]},
    {"category": "outlet",
     "question": "Jam buka outlet Sapa Coffee jam berapa?",
     "answer": "Sebagian besar outlet buka setiap hari pukul 07.00–22.00. Kemang buka sampai jam 01.00 "
               "(Jumat–Sabtu sampai 03.00), SCBD tutup hari Minggu. Kirim lokasi kakak untuk cek outlet terdekat.",
     "question_en": "What are your opening hours? What time do you open and close?",
     "answer_en": "Most outlets open daily 07:00–22:00. Kemang stays open until 01:00 (03:00 on Friday and "
                  "Saturday); SCBD is closed on Sunday. Share your location to check the nearest outlet.",
     "keywords": ["jam buka", "jam tutup", "buka", "tutup", "jam operasional", "opening hours", "open", "close",
                  "hours", "buka jam", "sampai jam"]},
    {"category": "pengiriman",
     "question": "Pengiriman ke mana saja dan berapa ongkos kirimnya?",
     "answer": "Kami antar ke seluruh Jabodetabek, Bandung, dan Surabaya. Ongkir mulai Rp8.000 untuk jarak "
               "di bawah 3 km, lalu Rp2.500/km; gratis ongkir untuk belanja di atas Rp150.000.",
     "question_en": "Where do you deliver and how much is the delivery fee?",
     "answer_en": "We deliver across Greater Jakarta, Bandung and Surabaya. Delivery starts at Rp8,000 under "
                  "3 km, then Rp2,500/km; free delivery on orders above Rp150,000.",
     "keywords": ["ongkir", "ongkos kirim", "antar", "delivery", "kirim", "pengiriman", "area pengiriman",
                  "delivery fee", "shipping", "gratis ongkir", "bekasi", "depok", "tangerang", "bogor"]},
    {"category": "pemesanan",
     "question": "Ada minimal order atau minimal pembelian?",
     "answer": "Tidak ada minimal order untuk ambil di outlet. Untuk delivery minimal Rp30.000 ya kak.",
     "question_en": "Is there a minimum order?",
     "answer_en": "There is no minimum for pickup. Delivery orders need at least Rp30,000.",
     "keywords": ["minimal order", "minimum order", "minimal pembelian", "min order", "minimum", "minimal beli"]},
    {"category": "produk",
     "question": "Apakah produk Sapa Coffee sudah halal?",
     "answer": "Sudah kak, semua menu Sapa Coffee bersertifikat halal MUI dan tidak mengandung babi maupun alkohol.",
     "question_en": "Is your food and drink halal certified?",
     "answer_en": "Yes, our whole menu is halal certified by MUI and contains no pork or alcohol.",
     "keywords": ["halal", "sertifikat halal", "mui", "babi", "alkohol", "pork", "alcohol", "halal certified"]},
    {"category": "komplain",
     "question": "Bagaimana kalau pesanan salah atau rusak? Bisa refund atau komplain?",
     "answer": "Mohon maaf kalau ada kendala 🙏 Kirim foto pesanan dan nomor order ke chat ini maksimal 24 jam "
               "setelah diterima. Kami ganti produknya atau refund penuh ke metode pembayaran kakak.",
     "question_en": "What if my order is wrong or damaged? Can I get a refund or make a complaint?",
     "answer_en": "Sorry for the trouble 🙏 Send a photo and your order number here within 24 hours of delivery. "
                  "We will replace the item or refund you in full.",
     "keywords": ["refund", "komplain", "complaint", "pengembalian dana", "uang kembali", "salah kirim",
                  "pesanan rusak", "tumpah", "garansi", "ganti", "money back", "wrong order", "damaged"]},
    {"category": "pemesanan",
     "question": "Bisa pre-order untuk acara atau event kantor?",
     "answer": "Bisa kak! Pre-order untuk acara minimal 20 cup, pesan paling lambat H-2. Kirim tanggal, jam, "
               "jumlah, dan alamat acaranya ya.",
     "question_en": "Can I pre-order for an event or an office party?",
     "answer_en": "Yes! Event pre-orders start at 20 cups and need 2 days' notice. Send us the date, time, "
                  "quantity and address.",
     "keywords": ["pre-order", "preorder", "po", "acara", "event", "pesan banyak", "rapat", "meeting",
                  "arisan", "ulang tahun", "party", "bulk order"]},
    {"category": "membership",
     "question": "Bagaimana cara jadi member dan mengumpulkan poin?",
     "answer": "Cukup pesan lewat chat ini: setiap belanja Rp1.000 (di luar ongkir) dapat 1 poin begitu pesanan "
               "diterima; 100 poin bisa ditukar kopi susu gratis. Ketik \"poin saya\" untuk cek poin dan "
               "\"tukar poin\" untuk menukar.",
     "question_en": "How do I become a member and collect points?",
     "answer_en": "Just order through this chat: every Rp1,000 spent (delivery not included) earns 1 point once "
                  "the order is delivered; 100 points buy a free iced milk coffee. Type \"my points\" to check "
                  "them and \"redeem points\" to redeem.",
     "keywords": ["member", "membership", "poin", "point", "points", "daftar member", "reward", "loyalty",
                  "tukar poin", "stamp"]},
    {"category": "outlet",
     "question": "Apakah ada wifi dan colokan di outlet? Bisa buat kerja (WFC)?",
     "answer": "Ada kak, semua outlet punya wifi gratis dan colokan di hampir setiap meja. Cocok buat WFC 💻",
     "question_en": "Do you have wifi and power outlets? Can I work from the cafe?",
     "answer_en": "Yes, every outlet has free wifi and power sockets at most tables. Great for working remotely.",
     "keywords": ["wifi", "wi-fi", "internet", "colokan", "stop kontak", "charger", "wfc", "kerja", "laptop",
                  "power outlet", "socket", "work"]},
    {"category": "outlet",
     "question": "Bisa reservasi tempat atau booking meja?",
     "answer": "Bisa kak, reservasi untuk 6 orang atau lebih minimal H-1 lewat chat ini. Sebutkan outlet, "
               "tanggal, jam, dan jumlah orangnya.",
     "question_en": "Can I reserve a table or book a space?",
     "answer_en": "Yes, reservations for 6 people or more, at least one day ahead, here in this chat. Tell us the "
                  "outlet, date, time and number of people.",
     "keywords": ["reservasi", "booking", "book", "pesan tempat", "pesan meja", "reserve", "reservation",
                  "table", "meja"]},
    {"category": "produk",
     "question": "Ada susu oat atau pilihan untuk alergi dan lactose intolerant?",
     "answer": "Ada kak! Semua minuman bisa pakai oat milk atau almond milk (+Rp8.000). Info alergen "
               "(susu, kacang, gluten) ada di menu; bilang saja ke barista kalau ada alergi.",
     "question_en": "Do you have oat milk or options for allergies and lactose intolerance?",
     "answer_en": "Yes! Any drink can be made with oat or almond milk (+Rp8,000). Allergens (milk, nuts, gluten) "
                  "are listed on the menu; tell the barista about any allergy.",
     "keywords": ["oat milk", "susu oat", "almond", "alergi", "alergen", "lactose", "laktosa", "vegan",
                  "gluten", "kacang", "allergy", "allergen", "dairy free", "non dairy"]},
    {"category": "pemesanan",
     "question": "Apakah menerima pesanan katering untuk kantor?",
     "answer": "Menerima kak. Paket katering kopi + snack mulai Rp45.000/orang untuk minimal 30 orang, "
               "termasuk dispenser dan cup. Pesan minimal H-3.",
     "question_en": "Do you do catering for offices?",
     "answer_en": "Yes. Coffee and snack catering starts at Rp45,000 per person for 30 people or more, "
                  "dispensers and cups included. Order 3 days ahead.",
     "keywords": ["katering", "catering", "paket kantor", "coffee break", "snack box", "prasmanan",
                  "nasi box", "office catering"]},
    {"category": "kontak",
     "question": "Nomor WhatsApp atau kontak customer service yang bisa dihubungi?",
     "answer": "Kakak bisa chat kami di sini kapan saja, atau WhatsApp CS di 0812-3456-7890 (09.00–21.00). "
               "Email: halo@sapacoffee.id.",
     "question_en": "What is your WhatsApp number or customer service contact?",
     "answer_en": "Chat with us here any time, or WhatsApp our customer service at +62 812-3456-7890 "
                  "(09:00–21:00). Email: halo@sapacoffee.id.",
     "keywords": ["wa", "whatsapp", "nomor", "no hp", "kontak", "contact", "cs", "customer service", "telepon",
                  "telpon", "email", "hubungi", "admin", "phone number"]},
    {"category": "pengiriman",
     "question": "Berapa lama waktu pengiriman sampai pesanan diterima?",
     "answer": "Biasanya 30–60 menit untuk jarak di bawah 10 km. Saat jam sibuk (12.00–13.00) bisa sedikit "
               "lebih lama ya kak.",
     "question_en": "How long does delivery take?",
     "answer_en": "Usually 30–60 minutes within 10 km. It can take a little longer at lunchtime (12:00–13:00).",
     "keywords": ["lama pengiriman", "berapa lama", "estimasi", "sampai kapan", "waktu antar", "nyampe",
                  "sampai", "delivery time", "how long", "eta", "lama"]},
    {"category": "pemesanan",
     "question": "Bagaimana cara membatalkan pesanan? Ada biaya pembatalan?",
     "answer": "Pesanan bisa dibatalkan gratis selama belum diproses barista (status baru/dikonfirmasi). "
               "Ketik \"batal\" dan nomor pesanannya. Kalau sudah dibuat, tidak bisa dibatalkan ya kak.",
     "question_en": "How do I cancel an order? Is there a cancellation fee?",
     "answer_en": "You can cancel for free until the barista starts preparing it. Type \"cancel\" and the order "
                  "number. Orders already being made cannot be cancelled.",
     "keywords": ["batal", "batalin", "pembatalan", "cancel", "cancellation", "biaya batal", "gak jadi",
                  "tidak jadi", "cancel order"]},
]


def _promotions(now) -> list[dict]:
    day = timedelta(days=1)
    return [
        {"title": "Paket Hemat Weekday", "voucher_code": "WEEKDAY-HEMAT",
         "description": "Senin–Jumat: 2 Es Kopi Susu + 1 Croissant cuma Rp65.000. Pakai kode WEEKDAY-HEMAT.",
         "title_en": "Weekday Saver Bundle",
         "description_en": "Monday to Friday: 2 Iced Milk Coffees + 1 Croissant for only Rp65,000. "
                           "Use code WEEKDAY-HEMAT.",
         "starts_at": now - 7 * day, "ends_at": now + 60 * day, "weekdays": [0, 1, 2, 3, 4]},
        {"title": "Diskon 20% Pelanggan Baru", "voucher_code": "HALOSAPA20",
         "description": "Pesanan pertama lewat chat diskon 20% (maks. Rp25.000). Kode HALOSAPA20.",
         "title_en": "20% Off Your First Order",
         "description_en": "Your first chat order is 20% off (up to Rp25,000). Code HALOSAPA20.",
         "starts_at": now - 30 * day, "ends_at": now + 90 * day, "audience": {"new_customers": True},
         "per_customer": "once"},
        {"title": "VIP: Gratis Upsize", "description": "Khusus member VIP: gratis upsize semua minuman bulan ini.",
         "title_en": "VIP: Free Upsize", "description_en": "VIP members only: free upsize on every drink this month.",
         "starts_at": now - 3 * day, "ends_at": now + 27 * day, "audience": {"tags": ["vip"]}},
        {"title": "Mampir Kemang: Buy 1 Get 1", "store_id": "Sapa Coffee Kemang", "radius_km": 3.0,
         "description": "Lagi di sekitar Kemang? Tunjukkan chat ini di Sapa Coffee Kemang: beli 1 gratis 1 "
                        "Kopi Gula Aren.",
         "title_en": "Kemang Drop-in: Buy 1 Get 1",
         "description_en": "Near Kemang? Show this chat at Sapa Coffee Kemang: buy one Palm Sugar Coffee, "
                           "get one free.",
         "starts_at": now - day, "ends_at": now + 14 * day},
        {"title": "Promo Ramadan (sudah berakhir)", "voucher_code": "RAMADAN-BERKAH",
         "description": "Paket buka puasa 4 minuman Rp99.000.",
         "title_en": "Ramadan Deal (ended)", "description_en": "Iftar bundle: 4 drinks for Rp99,000.",
         "starts_at": now - 120 * day, "ends_at": now - 90 * day, "active": True},
    ]


def load_catalog(session: Session) -> bool:
    """Insert the demo stores, promotions, FAQs and settings that are missing; True when something was added."""
    added = False
    known = set(session.exec(select(Store.name)).all())
    for store in STORES:
        if store["name"] not in known:
            create_store(session=session, **store)
            added = True
    store_ids = dict(session.exec(select(Store.name, Store.id)).all())
    titles = set(session.exec(select(Promotion.title)).all())
    for promotion in _promotions(utcnow()):
        if promotion["title"] not in titles:
            if "store_id" in promotion:
                promotion["store_id"] = store_ids[promotion["store_id"]]
            create_promotion(session=session, **promotion)
            added = True
    saved = set(session.exec(select(ShopSetting.key)).all())
    missing = {key: value for key, value in SETTINGS.items() if key not in saved}
    if missing:
        save_settings(session, missing)
        added = True
    questions = set(session.exec(select(FaqEntry.question)).all())
    for entry in FAQS:
        if entry["question"] not in questions:
            create_faq(session=session, **entry)
            added = True
    session.flush()
    return added
