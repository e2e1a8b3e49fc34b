"""Word lists: slang -> canonical Indonesian, and Indonesian / English lexicons used
for normalisation (known-word check) and language detection.

Shop owners may extend SLANG; keys are lowercase chat spellings, values canonical.
"""
from __future__ import annotations

SLANG: dict[str, str] = {
    # negation
    "gak": "tidak", "ga": "tidak", "gk": "tidak", "g": "tidak", "nggak": "tidak", "ngga": "tidak",
    "nggk": "tidak", "ngak": "tidak", "enggak": "tidak", "engga": "tidak",
    "kagak": "tidak", "kaga": "tidak", "ndak": "tidak", "nda": "tidak", "tdk": "tidak", "tak": "tidak",
    "gag": "tidak", "moh": "tidak", "ora": "tidak", "gaada": "tidak ada", "gada": "tidak ada",
    "gaperlu": "tidak perlu", "gausah": "tidak usah", "gaush": "tidak usah", "gamau": "tidak mau",
    "gabisa": "tidak bisa", "gbs": "tidak bisa", "gatau": "tidak tahu", "gasuka": "tidak suka", "gajadi": "tidak jadi", "gajd": "tidak jadi", "gjd": "tidak jadi",
    "gpp": "tidak apa apa", "gapapa": "tidak apa apa", "nggapapa": "tidak apa apa", "ngapa": "kenapa",
    "bkn": "bukan", "jgn": "jangan", "jngn": "jangan",
    # aspect
    "udh": "sudah", "udah": "sudah", "sdh": "sudah", "dah": "sudah", "udach": "sudah", "uda": "sudah",
    "wis": "sudah", "wes": "sudah", "blm": "belum", "belom": "belum", "blom": "belum", "blum": "belum",
    "lg": "lagi", "lgi": "lagi", "sdg": "sedang", "lagi2": "lagi", "msh": "masih", "masi": "masih",
    "mo": "mau", "mw": "mau", "mauu": "mau", "pengen": "ingin", "pgn": "ingin", "pengin": "ingin",
    "kepengen": "ingin", "pingin": "ingin", "bs": "bisa", "bsa": "bisa", "isa": "bisa", "iso": "bisa",
    "bisakah": "bisa", "hrs": "harus", "kudu": "harus", "jd": "jadi", "jdi": "jadi",
    # questions
    "brp": "berapa", "brapa": "berapa", "berapaan": "berapa", "pira": "berapa", "gmn": "gimana",
    "gmna": "gimana", "gimna": "gimana", "bagaimana": "gimana", "piye": "gimana", "gmana": "gimana",
    "knp": "kenapa", "napa": "kenapa", "kok": "kok", "dmn": "dimana", "dmna": "dimana", "mana": "mana",
    "kpn": "kapan", "kapn": "kapan", "apaan": "apa", "opo": "apa", "ap": "apa", "sapa": "siapa",
    # pronouns / address
    "aku": "saya", "ak": "saya", "aq": "saya", "sy": "saya", "gw": "saya", "gue": "saya", "gua": "saya",
    "w": "saya", "gwa": "saya", "ane": "saya", "aing": "saya", "kulo": "saya", "sya": "saya",
    "lu": "kamu", "lo": "kamu", "elu": "kamu", "loe": "kamu", "km": "kamu", "kmu": "kamu", "anda": "kamu",
    "kak": "kak", "ka": "kak", "kaka": "kak", "kakak": "kak", "kk": "kak", "mba": "kak", "mbak": "kak",
    "mb": "kak", "mas": "kak", "bang": "kak", "abang": "kak", "bro": "kak", "sis": "kak", "gan": "kak",
    "agan": "kak", "sist": "kak", "om": "kak", "bu": "kak", "pak": "kak", "bun": "kak", "bunda": "kak",
    "min": "admin", "mimin": "admin", "minn": "admin", "admn": "admin", "adm": "admin",
    "cs": "admin", "custserv": "admin",
    # common words
    "yg": "yang", "yng": "yang", "dgn": "dengan", "dg": "dengan", "sm": "sama", "ama": "sama",
    "tp": "tapi", "tpi": "tapi", "krn": "karena", "karna": "karena", "soalnya": "karena",
    "utk": "untuk", "untk": "untuk", "buat": "untuk", "bwt": "untuk", "jg": "juga", "jga": "juga",
    "aja": "saja", "aj": "saja", "ajah": "saja", "doang": "saja", "dl": "dulu", "dlu": "dulu",
    "bgt": "banget", "bngt": "banget", "bgd": "banget", "bgtt": "banget", "bnget": "banget",
    "pol": "banget", "poll": "banget", "bener": "benar", "bnr": "benar", "bner": "benar",
    "sgt": "sangat", "amat": "sangat", "skrg": "sekarang", "skrng": "sekarang", "skr": "sekarang",
    "saiki": "sekarang", "kmrn": "kemarin", "kemaren": "kemarin", "kmarin": "kemarin",
    "bsk": "besok", "besuk": "besok", "sblm": "sebelum", "stlh": "setelah", "abis": "habis",
    "hbs": "habis", "tlg": "tolong", "tolongin": "tolong", "mohon": "tolong", "trs": "terus",
    "trus": "terus", "terus": "terus", "org": "orang", "orng": "orang", "tmn": "teman", "temen": "teman",
    "sampe": "sampai", "nyampe": "sampai", "nyampai": "sampai", "smpe": "sampai", "smp": "sampai",
    "sampek": "sampai", "dateng": "datang", "dtg": "datang", "tgl": "tanggal", "jm": "jam",
    "emg": "memang", "emang": "memang", "mmg": "memang", "gitu": "begitu", "gt": "begitu",
    "gini": "begini", "bikin": "buat", "dimn": "dimana", "kyk": "kayak", "kayaknya": "sepertinya",
    "kyknya": "sepertinya", "kek": "kayak", "sih": "sih", "sihh": "sih", "deh": "deh", "dong": "dong",
    "donk": "dong", "dongg": "dong", "nih": "nih", "tuh": "tuh", "ya": "ya", "yah": "ya", "yaa": "ya",
    "iya": "iya", "iyaa": "iya", "iy": "iya", "yoi": "iya", "yup": "iya", "ho'oh": "iya", "nggih": "iya",
    "inggih": "iya", "ok": "ok", "oke": "ok", "okey": "ok", "okay": "ok", "okee": "ok", "okeh": "ok",
    "okk": "ok", "otw": "otw", "lho": "lho", "loh": "lho", "lah": "lah", "toh": "toh", "mah": "mah",
    "wkwk": "wkwk", "wkwkwk": "wkwk", "wkwkwkwk": "wkwk", "haha": "haha", "hahaha": "haha",
    "hehe": "hehe", "hihi": "hehe", "xixi": "hehe", "awokawok": "wkwk",
    # thanks / greetings
    "makasih": "makasih", "makasi": "makasih", "mksh": "makasih", "mks": "makasih", "mksih": "makasih",
    "maaci": "makasih", "trims": "makasih", "trimakasih": "makasih", "terimakasih": "makasih",
    "thx": "thanks", "tq": "thanks", "ty": "thanks", "thank": "thanks", "thanks": "thanks",
    "tengkyu": "thanks", "thankyou": "thanks", "suwun": "makasih", "matur": "makasih",
    "ass": "assalamualaikum", "assalamu'alaikum": "assalamualaikum", "asw": "assalamualaikum",
    "assalamualaikum": "assalamualaikum", "askum": "assalamualaikum", "assalamualaykum": "assalamualaikum",
    "samlekom": "assalamualaikum", "mlm": "malam", "malem": "malam", "siang": "siang", "sore": "sore",
    "pgi": "pagi", "met": "selamat", "slmt": "selamat", "hai": "halo", "hallo": "halo", "helo": "halo",
    "haloo": "halo", "hi": "hi", "hii": "hi", "hey": "hi", "hei": "hi", "hay": "hi", "hy": "hi",
    "hello": "hello", "permisi": "permisi", "punten": "permisi", "misi": "permisi",
    "bales": "balas", "bls": "balas", "dibales": "dibalas", "dibls": "dibalas", "balesin": "balas",
    "ngerespon": "respon", "direspon": "respon", "respond": "respon", "response": "respon",
    # commerce
    "pesen": "pesan", "psn": "pesan", "mesen": "pesan", "pesenan": "pesanan", "psnan": "pesanan",
    "orderan": "pesanan", "pesenanku": "pesanan saya", "pesananku": "pesanan saya",
    "orderanku": "pesanan saya", "order": "order", "ordr": "order", "oder": "order",
    "beli": "beli", "bli": "beli", "tuku": "beli", "ambil": "ambil", "ambl": "ambil",
    "ongkos": "ongkos", "ongkirnya": "ongkir", "ongkr": "ongkir", "tf": "transfer", "trf": "transfer",
    "trnsfer": "transfer", "transfr": "transfer", "tranfer": "transfer", "trasnfer": "transfer",
    "bayar": "bayar", "byr": "bayar", "bayarnya": "bayar", "pembayaran": "bayar", "cod": "cod",
    "rek": "rekening", "norek": "rekening", "rekening": "rekening", "resi": "resi", "noresi": "resi",
    "brg": "barang", "barangnya": "barang", "brgnya": "barang", "pcs": "pcs", "pc": "pcs",
    "harganya": "harga", "hrg": "harga", "hrga": "harga", "brapaan": "berapa", "murmer": "murah",
    "diskonan": "diskon", "disc": "diskon", "disk": "diskon", "dskn": "diskon", "discount": "diskon",
    "diskonnya": "diskon", "vocer": "voucher", "voucer": "voucher", "vc": "voucher", "voc": "voucher",
    "promonya": "promo", "promoan": "promo", "promosi": "promo", "gratis": "gratis", "free": "free",
    "anter": "antar", "anterin": "antar", "antarin": "antar", "dianter": "diantar", "nganter": "antar",
    "kirimin": "kirim", "kirimkan": "kirim", "krm": "kirim", "krim": "kirim", "dikirm": "dikirim",
    "dkirim": "dikirim", "kurir": "kurir", "abang ojol": "kurir", "ojol": "kurir", "gojek": "kurir",
    "grab": "kurir", "drivernya": "driver", "batalin": "batal", "batalkan": "batal", "btl": "batal",
    "bataliin": "batal", "cancel": "cancel", "cancell": "cancel", "cancl": "cancel", "cansel": "cancel",
    "kensel": "cancel", "cencel": "cancel", "cancelin": "cancel", "dicancel": "cancel",
    "komplen": "komplain", "komplin": "komplain", "complain": "komplain", "komplainnya": "komplain",
    "kecewaa": "kecewa", "kcewa": "kecewa", "kesel": "kesal", "sebel": "kesal", "bete": "kesal",
    "nyesel": "menyesal", "nyesal": "menyesal", "rusakk": "rusak", "ancur": "hancur",
    "lelet": "lambat", "lemot": "lambat", "telat": "terlambat", "tlt": "terlambat", "lmbt": "lambat",
    "lama": "lama", "lamaa": "lama", "lma": "lama", "anjir": "anjir", "anjay": "anjir", "anjrit": "anjir",
    "njir": "anjir", "anjim": "anjir", "asu": "anjing", "anjg": "anjing", "ajg": "anjing",
    "bangsat": "bangsat", "bgst": "bangsat", "tai": "tai", "taik": "tai",
    "mantap": "mantap", "mantul": "mantap", "mantab": "mantap", "mantep": "mantap", "mntp": "mantap",
    "josss": "mantap", "joss": "mantap", "jos": "mantap", "enak": "enak", "uenak": "enak", "enk": "enak",
    "bgs": "bagus", "bagus": "bagus", "recommended": "recommended", "rekomen": "recommended",
    "lokasi": "lokasi", "loc": "lokasi", "lok": "lokasi", "sharelok": "sharelock", "shareloc": "sharelock",
    "sharelock": "sharelock", "almt": "alamat", "alamatnya": "alamat", "tmpt": "tempat", "tmpat": "tempat",
    "cabangnya": "cabang", "cbg": "cabang", "outletnya": "outlet", "tokonya": "toko", "tko": "toko",
    "deket": "dekat", "dkt": "dekat", "terdeket": "terdekat", "jln": "jalan", "jl": "jalan",
    "ready": "ready", "redy": "ready", "ready?": "ready", "ready stock": "ready", "stok": "stok",
    "stock": "stok", "stoknya": "stok", "ukurannya": "ukuran", "uk": "ukuran", "size": "size",
    "warnanya": "warna", "wrn": "warna", "buka": "buka", "bukak": "buka", "tutup": "tutup",
    "jam brp": "jam berapa", "adminnya": "admin", "orangnya": "orang",
    "manusia": "manusia", "bot": "bot", "robot": "bot", "telp": "telepon", "telpon": "telepon",
    "tlp": "telepon", "tlpn": "telepon", "nelpon": "telepon", "call": "call", "wa": "whatsapp",
    "whatsapp": "whatsapp", "hp": "hp", "nohp": "nomor hp", "no": "nomor", "nmr": "nomor", "nomer": "nomor",
    "nmor": "nomor", "pls": "please", "plis": "please", "plz": "please", "pliss": "please",
    "plisss": "please", "pleasee": "please", "u": "you", "ur": "your", "r": "are", "im": "i am",
    "dont": "do not", "don't": "do not", "cant": "cannot", "can't": "cannot", "won't": "will not",
    "isnt": "is not", "isn't": "is not", "wasnt": "was not", "wasn't": "was not", "didnt": "did not",
    "didn't": "did not", "doesnt": "does not", "doesn't": "does not", "hasnt": "has not",
    "hasn't": "has not", "havent": "have not", "haven't": "have not", "wanna": "want to",
    "gonna": "going to", "pls.": "please", "asap": "asap", "wtf": "wtf", "omg": "omg",
}

ID_WORDS: frozenset[str] = frozenset("""
saya kamu dia kami kita mereka kak admin ya iya tidak bukan belum sudah sedang lagi masih akan mau ingin
bisa boleh harus perlu jadi dan atau tapi karena kalau kalo jika untuk dari ke di pada dengan sama yang
ini itu sini situ sana apa siapa kapan dimana mana berapa kenapa gimana bagaimana kok dong deh sih nih
tuh lah kah pun loh lho toh mah kan yuk ayo nya banget sangat sekali aja saja juga dulu terus baru
udah nanti tadi kemarin besok lusa sekarang hari minggu bulan tahun jam pagi siang sore malam
selamat halo permisi makasih terima kasih maaf tolong mohon minta kasih pesan pesanan beli ambil
kirim antar diantar dikirim sampai datang bayar transfer rekening harga ongkir ongkos murah mahal
barang produk kopi susu teh roti kue baju celana kaos ukuran warna casing kabel charger satu dua tiga
empat lima enam tujuh delapan sembilan sepuluh sebelas belas puluh ratus ribu rb juta porsi gelas cup
biji buah bungkus kotak botol potong lusin kecewa parah rusak basi tumpah hancur kesal marah lambat
terlambat lama salah kurang sesuai enak mantap bagus puas cepat ramah alamat jalan rumah kantor kos
toko cabang outlet lokasi tempat dekat terdekat jauh buka tutup libur promo diskon potongan gratis
hadiah kode batal batalkan ganti tukar uang kembali balikin dana dong orang manusia bicara ngomong
hubungi telepon nomor akun gimana kapan tanggal besok lusa senin selasa rabu kamis jumat sabtu
ada adakah punya bikin buat sudah selesai proses diproses dibuat dikemas resi kurir paket nyasar
hilang ketinggalan kurang lengkap dingin panas manis pahit gula es sambal pedas ayam nasi mie kenapa
kemana gak nggak enggak udh blm bgt yg sy gw gue aku lu lo kalian beliau bapak ibu mas mbak
sis gan bro bang om bun wkwk haha hehe anjir anjing kampret sialan nyesel menyesal zonk ancur
semoga mantul sip siap oke okelah gapapa pokoknya soalnya sebenarnya kayaknya sepertinya kayak
cuma doang banyak sedikit semua setiap tiap hanya lebih paling agak terlalu kirain kira tahu tau
ngerti paham coba cek tanya nanya jawab balas bales dibalas respon lapar haus capek seneng senang
bahagia sedih tahun depan kemarin sebelum sesudah setelah habis tersedia stok warna cokelat hitam
putih merah biru pria wanita anak dewasa tanggal jam menit detik aduh duh astaga ampun waduh yaelah
ngga gk ga kagak ndak wes wis opo piye sampun nggih monggo matur nuwun suwun punten mangga atuh
euy teh mah jeung kumaha hayuk yuk lumayan kuy gaes guys cuy sob bestie maksudnya udahan nunggu
menunggu tunggu ditunggu kelamaan belom udah sudah dipesan memesan pemesanan pengiriman penjualan
""".split())

EN_WORDS: frozenset[str] = frozenset("""
i me my mine you your yours he she it its we our they them their this that these those is are was
were be been being am do does did have has had will would can could should shall may might must
the a an and or but because if when where what which who whom why how there here to of in on at
for from with without about into over under after before again very really so too also just only
not no never nothing yes yeah yep nope please thanks thank hello hi hey good morning afternoon evening
night day today tomorrow yesterday week month year time hour minute order ordered ordering want
wanted need like would get got buy bought purchase send sent deliver delivered delivery arrive
arrived arriving ship shipped shipping status track tracking where's still yet late early slow fast
quick cancel cancelled canceled stop refund money back return exchange wrong broken damaged cold
spilled stale rotten bad terrible awful worst horrible disappointed disappointing angry upset
unacceptable rude missing love great nice awesome amazing excellent delicious tasty happy satisfied
price cost much many how payment pay paid cash card transfer open close closed opening hours store
shop branch location address near nearest nearby directions map far located promo promotion
discount deal deals voucher coupon code sale free offer offers special talk speak human person
agent staff someone somebody real call phone number contact manager support help customer service
bot robot what's it's i'm don't can't won't isn't wasn't didn't doesn't ok okay sure fine alright
cool sounds great thanks welcome bye goodbye see soon lol haha one two three four five six seven
eight nine ten dozen cup cups piece pieces box boxes bottle slice iced hot coffee latte tea milk
bread cake cookie shirt size color colour case cable charger available stock menu vegan halal
any anything something some more less than then now later tonight morning noon monday tuesday
wednesday thursday friday saturday sunday next last first second please kindly asap let know
check update confirm confirmed confirmation hasn't haven't been waiting wait waited received
receive item items package parcel courier driver rider app website online account there
look looks looked looking taste tasted tastes smell smells
""".split())

# Loanwords used in everyday Indonesian chat: ignored by language detection.
LOAN_WORDS: frozenset[str] = frozenset("""
ok oke okay order cancel promo admin cod transfer ready stok stock size online delivery refund
checkout voucher cashback driver update chat link cs free ongkir resi sharelock emjpray emjok
emjsmile emjlove emjlaugh emjsweat emjangry emjbad emjsad emjannoyed emjwave emjthink emjcart
emjcoffee emjpin emjparty emjfire hp wa whatsapp qris ovo gopay dana shopeepay shopee tokopedia
latte americano cappuccino croissant matcha brownies donat donut outlet mall bot call email
sip siap wkwk haha hehe lol otw hi halo list menu pc pcs cup box please thanks
""".split())

NUMBER_WORDS: dict[str, int] = {
    "satu": 1, "sebiji": 1, "sebuah": 1, "segelas": 1, "secangkir": 1, "sepotong": 1, "sebungkus": 1,
    "sekotak": 1, "sebotol": 1, "seporsi": 1, "sepasang": 1, "selusin": 12, "se": 1, "siji": 1,
    "dua": 2, "loro": 2, "tiga": 3, "telu": 3, "empat": 4, "papat": 4, "lima": 5, "limo": 5,
    "enam": 6, "tujuh": 7, "delapan": 8, "sembilan": 9, "sepuluh": 10, "sebelas": 11,
    "dua belas": 12, "lusin": 12, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "dozen": 12, "couple": 2, "duabelas": 12, "tigabelas": 13, "tiga belas": 13,
    "empat belas": 14, "lima belas": 15, "dua puluh": 20, "duapuluh": 20,
}

UNIT_WORDS: frozenset[str] = frozenset("""
pcs pc biji buah gelas cup cups porsi bungkus bks box kotak botol btl potong slice slices pack
pak lusin item items x piece pieces pasang psg lembar lbr kg gram gr ons loyang mangkok mangkuk
cangkir bottle bottles ea unit units set
""".split())
