"""The words of ordering in informal Indonesian and English: cues for yes, no, cancelling, changing,
fulfilment, notes and time, as tuples of canonical words (see `canon`)."""
from __future__ import annotations

from core.normalize import canon_word

# canon_word is tuned for intent classification; a few words must keep their ordering sense
_OWN_FORMS = {"no": "no", "g": "g", "pc": "pcs"}


def canon(word: str) -> tuple[str, ...]:
    """The canonical words of one lowercase token ("gajadi" -> ("tidak", "jadi"))."""
    if not word.isalpha():
        return (word,)
    return (_OWN_FORMS[word],) if word in _OWN_FORMS else tuple(canon_word(word).split())


def phrases(*texts: str) -> frozenset[tuple[str, ...]]:
    """Phrases as tuples of canonical words, spelled as customers type them."""
    return frozenset(tuple(w for word in text.split() for w in canon(word)) for text in texts)


def combine(first: tuple[str, ...], second: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    """Every `first second` phrase."""
    return phrases(*(f"{a} {b}" for a in first for b in second))


YES = phrases("iya", "leres", "iyap", "iyo", "iyoo", "y", "yakin", "ho oh", "nggih", "enggih", "injih", "muhun", "ya", "yes", "yep", "yup", "yeah", "yea", "betul", "bener", "benar", "ok", "oke", "sip",
              "siap", "gas", "gass", "gaskan", "lanjut", "lanjutkan", "boleh", "setuju", "confirm", "konfirmasi",
              "correct", "sure", "mantap", "cocok", "fix", "of course", "sounds good", "that's right",
              "thats right", "go ahead", "lets go", "let's go", "yes please", "absolutely", "right", "alright",
              "yoi", "yess", "iyes", "iyup", "okay", "okey", "okei", "sesuai", "mantul", "cus", "cuss", "gaskeun",
              "lanjutin", "proses", "proses aja", "diproses", "ya udah", "yaudah", "looks good", "look good",
              "looks great", "looks right", "looks fine", "perfect", "good to go", "exactly",
              "all correct", "all right", "place the order", "process it", "bener semua", "benar semua", "confirmed",
              "lanjutt", "yoa", "okok", "ok ok", "iya iya", "proceed", "fine", "that's fine", "thats fine",
              "that's ok", "gpp", "gapapa", "ga papa", "gak papa", "nggak papa", "no problem")
# "udah bener", "semua sesuai", "all good": a yes after "already" / "all"
YES |= combine(("udah", "sudah", "dah", "semua", "semuanya", "all", "everything"),
               ("bener", "benar", "betul", "ok", "oke", "sesuai", "cocok", "good", "correct", "fine", "right", "mantap"))
NO = phrases("ga", "no", "nope", "bukan", "jangan", "belum", "nah", "salah", "not really", "tidak usah")
NEGATION = phrases("ga", "jangan", "no", "not", "bukan", "without", "tanpa", "ga usah", "ga perlu", "don't", "dont")
# what turns a fulfilment cue around: "ga jadi dikirim" is a pickup
FULFILMENT_NEGATION = NEGATION | phrases("ga jadi", "batal", "cancel", "instead of", "rather than")

_CANCEL_VERBS = ("batal", "batalkan", "batalin", "cancel", "gajadi", "hapus", "kosongin", "kosongkan", "clear",
                 "forget", "delete", "never mind", "nevermind", "dibatalkan", "dibatalin", "dicancel")
_WHOLE_ORDER = ("semua", "semuanya", "all", "everything", "pesanan", "pesanannya", "pesanan saya", "order",
                "ordernya", "the order", "my order", "orderan", "orderannya", "keranjang", "keranjangnya",
                "the cart", "cart", "pesan", "beli", "the whole order", "it all")
CANCEL_ALL = (combine(_CANCEL_VERBS, _WHOLE_ORDER) | combine(_WHOLE_ORDER, _CANCEL_VERBS)
              | phrases("ga jadi pesan", "ga jadi order", "ga jadi beli", "ga jadi semua", "ga jadi semuanya",
                        "semuanya ga jadi", "ga jadi pesen", "cancel the whole thing", "ga mau pesan lagi"))
CANCEL_BARE = phrases(*_CANCEL_VERBS, "ga jadi", "cancel aja", "batal aja", "ga jadi deh", "ga jadi aja")

REMOVE_BEFORE = phrases("ga jadi", "batal", "batalin", "batalkan", "cancel", "hapus", "hapusin", "remove", "buang",
                        "delete", "drop", "skip", "ga usah", "ga pake", "ga pakai", "without", "tanpa", "minus",
                        "no more", "take out", "ga mau", "no")
REMOVE_AFTER = phrases("ga jadi", "batal", "dibatalkan", "dibatalin", "cancel", "dihapus", "hapus", "ga usah",
                       "skip", "remove", "removed", "dicancel", "dibuang", "ga jadi deh")
SET_BEFORE = phrases("make", "make it", "jadiin", "jadikan", "ubah", "change", "set")
DECREASE = phrases("kurangi", "kurangin", "dikurangi", "dikurangin", "minus")
SET_TO = phrases("jadi", "jadiin", "dijadiin", "dijadikan", "ganti jadi", "diganti jadi", "ubah jadi",
                 "diubah jadi", "to", "change to", "make it", "updated to", "jadi nya")
SWAP_OPEN = phrases("ganti", "diganti", "tukar", "ditukar", "change", "swap", "replace", "ubah", "diubah")
SWAP_MIDDLE = phrases("jadi", "ke", "dengan", "sama", "pake", "to", "with", "for", "diganti", "diganti jadi",
                      "diganti dengan", "diganti ke", "diganti sama", "ganti", "ganti jadi", "ganti ke", "tukar",
                      "tukar dengan", "ditukar", "ditukar dengan", "ditukar sama", "diubah jadi", "ubah jadi")
ADD_MORE = phrases("tambah", "tambahin", "ditambah", "add", "another", "plus", "more", "lagi", "one more",
                   "tambah lagi", "nambah", "extra")

# One each for everyone the order is for: "kopsus aja semua", "iced latte for everyone"
EVERYONE = phrases("semua", "semuanya", "buat semua", "untuk semua", "masing masing", "masing 2", "tiap orang",
                   "per orang", "everyone", "everybody", "for all", "all of us", "all of them", "each", "per person")
# The people not counted yet: "yg 20 kopsus, sisanya es coklat"
REST = phrases("sisanya", "sisa nya", "sisa", "yang lain", "yg lain", "lainnya", "the rest", "the others",
               "everyone else", "everybody else")
DONE = phrases("itu aja", "segitu aja", "cukup", "udah cukup", "cukup itu", "that's all", "thats all",
               "that is all", "that's it", "thats it", "nothing else", "ga ada lagi", "udah itu", "itu dulu",
               "done", "that will be all", "udah semua", "itu semua", "udah", "that's everything",
               "all good", "no more", "itu doang", "segitu dulu", "cukup segitu")
ASAP = phrases("sekarang", "now", "secepatnya", "asap", "segera", "right now", "right away", "langsung",
               "as soon as possible", "buruan", "sekarang juga", "sesegera mungkin")

PICKUP = phrases("ambil sendiri", "ambil di toko", "ambil ke toko", "ambil di outlet", "ambil di store",
                 "ambil ditoko", "diambil", "pickup", "pick up", "self pickup", "take away", "takeaway",
                 "bawa pulang", "pick it up", "collect", "ambil langsung", "ambil di tempat", "ambil aja",
                 "ambil sendiri aja", "i'll pick", "ambil ke outlet", "pick up myself", "get it myself",
                 "grab it myself", "it myself", "i'll grab it", "i'll grab", "grab it up", "come grab it",
                 "come get it", "come pick it up", "collect it", "i'll collect", "in store pickup",
                 "samperin", "nyamperin", "disamperin", "mampir", "jemput", "dijemput", "jemput sendiri",
                 "swing by", "stop by", "drop by", "come by", "grab it", "datang ke toko", "dateng ke toko",
                 "datang ke outlet", "dateng ke outlet", "ke toko aja", "ke outlet aja", "jupuk dewe", "ambil dewe")
# "ambil" alone orders ("aku ambil 2 kopi"); before these words it is a pickup ("tak ambil" is Javanese: I'll take it)
AMBIL = phrases("ambil", "jupuk")
AMBIL_PICKUP_NEXT = frozenset(w for p in phrases("di", "ke", "sendiri", "aja", "nanti", "jam", "besok",
                                                 "sekarang", "pas", "ya", "dong", "kak") for w in p)
DELIVERY = phrases("antar", "diantar", "diantarkan", "antarkan", "kirim", "dikirim", "kirimkan", "deliver",
                   "delivery", "delivered", "send", "ship", "gofood", "grabfood", "shopeefood", "gosend",
                   "kurir", "pesan antar", "dianterin", "delivery aja", "deliv", "ojol", "bring", "bring it",
                   "bawain", "dibawain", "bawakan", "anterin", "anterkan", "kirimin", "dikirimin", "courier",
                   "drop it off", "drop off", "door to door", "ojek online", "grabin", "gojekin", "gosendin")

# what a note on one item is about, and the words around it
NOTE_OBJECTS = phrases("es", "ice", "gula", "sugar", "susu", "milk", "oat", "shot", "espresso", "whip",
                       "whipped cream", "cream", "krim", "sirup", "syrup", "boba", "jelly", "manis", "sweet",
                       "pedas", "pedes", "spicy", "sambal", "keju", "cheese", "almond", "soy", "kedelai", "foam",
                       "caramel", "karamel", "vanilla", "hazelnut", "esnya", "gulanya", "susunya", "creamer",
                       "sugar level", "ice level")
NOTE_ALONE = phrases("oat milk", "susu oat", "soy milk", "almond milk", "panas", "hot", "dingin", "cold", "anget",
                     "hangat", "warm", "large", "regular", "small", "medium", "besar", "kecil", "normal ice",
                     "normal sugar", "less ice", "less sugar", "no ice", "no sugar", "extra shot", "double shot")
# the size or variant of an item, a note only right after its name: "croissant biasa 2", "kopsus gede 3"
VARIANTS = phrases("biasa", "gede", "jumbo", "ori", "original", "plain", "polos", "reguler", "sedang", "tall", "grande",
                   "venti", "mini", "single", "spesial", "special", "gedean", "kecilan", "xl")
NOTE_BEFORE = phrases("ga", "tanpa", "no", "without", "less", "kurang", "extra", "ekstra", "double", "more",
                      "tambah", "pake", "pakai", "with", "sedikit", "dikit", "banyak", "banyakin", "normal", "half",
                      "setengah", "ga pake", "ga pakai", "ga usah", "ga terlalu", "jangan terlalu", "jangan",
                      "jangan pake", "minta", "pakai", "yang", "add", "ukuran", "size")
NOTE_AFTER = phrases("sedikit", "dikit", "sedikitin", "dikitin", "banyak", "banyakin", "extra", "less", "normal",
                     "dipisah", "pisah", "terpisah", "ga", "ga pake", "aja", "dikurangi", "dikurangin", "full",
                     "penuh", "setengah", "half")
# notes on the whole order: packaging and how to hand it over
ORDER_NOTE_OBJECTS = phrases("sedotan", "straw", "straws", "plastik", "plastic", "kantong", "kresek", "sendok",
                             "garpu", "cutlery", "tisu", "tissue", "napkin", "napkins", "bag", "paper bag", "struk",
                             "receipt", "nota", "kartu ucapan", "lilin", "candle", "candles")
ORDER_NOTE_HANDOVER = phrases("titip satpam", "titip di satpam", "titip ke satpam", "titip resepsionis",
                              "titip di resepsionis", "titip di lobby", "taruh di lobby", "titip di pos",
                              "leave it at the lobby", "leave at reception", "leave it with security")

# the cart should hold just the products named: "cuma latte", "kopinya aja", "just the latte", "latte only"
ONLY_BEFORE = phrases("cuma", "hanya", "just", "only", "cukup")
ONLY_AFTER = phrases("aja", "saja", "doang", "only")

ORDER_VERBS = phrases("pesan", "order", "beli", "mau", "minta", "tambah", "add", "want", "get", "ambil", "have",
                      "like", "i'd like", "need", "take", "buy", "pengen", "pgn")
SEPARATORS = frozenset(",.;!?+&/\n") | frozenset(w for p in phrases("dan", "and", "sama", "terus", "lalu", "then",
                                                                      "also", "plus", "juga", "n") for w in p)
# words that are never part of a product-like phrase the customer may have meant
FUNCTION_WORDS = frozenset(w for word in """
them they those these ones semuanya keduanya
saya kamu aku i i'd i'm me my we you your kak admin min ya yaa dong deh sih nih tuh lah kah kan yuk ayo nya
mau pesan order beli minta tambah add want would like get have please pls tolong the a an of for to in at on
with and or but di ke dari ini itu yang yg ada apa aja saja juga lagi dulu nanti sekarang hari besok
jam pukul pagi siang sore malam today tomorrow tonight now ok oke iya yes no ga gak tidak bukan jangan
sudah udah belum mau bisa boleh can could will need take buy some any more less please thanks makasih
terima kasih maaf sorry hi halo hello selamat pesanan menu harga berapa how much many what is are it this
that there here sama dan terus untuk buat dengan pake pakai antar anter kirim deliver delivery ambil pickup
sendiri toko outlet cabang store alamat rumah kantor office home my address nomor hp phone bayar pay
transfer cash cod qris gopay ovo dana total semua all everything cup gelas biji pcs porsi buah box botol
bungkus potong slice piece pieces cups glass glasses x ukuran size enak paling mana which one tanya ask
rb ribu k jt juta orang person people tadi kemarin so just also then too very really sangat banget cuma
doang kira sekitar around about kali dua tiga satu two three one four five empat lima jadi komplain complain
tanya info cek check status lokasi promo diskon voucher tutup buka open close kenapa why kok tumpah
not back do does did don't was were be been only instead actually anyway still again okay sure
vouchers promos discounts deals offers voucher promo discount deal offer diskonnya promonya
masing tiap each everyone everybody sisanya sisa lainnya rest others else
""".split() for w in canon(word))
