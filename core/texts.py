"""The chat's wording (what customers read), in Indonesian and English: one catalog and its helpers."""

from __future__ import annotations

from core.words import Catalog

CHAT = Catalog("chat", {
    "welcome": {
        "id": "Halo {name}! 👋 Selamat datang di {shop}. Aku asisten chat {shop}: bisa bantu pesan, "
              "cek pesanan, info promo, dan cari toko terdekat. Mau apa hari ini?",
        "en": "Hi {name}! 👋 Welcome to {shop}. I'm {shop}'s chat assistant: I can help you order, "
              "check an order, see promos and find the nearest store. What would you like today?",
    },
    "welcome_back": {
        "id": "Halo lagi {name}, senang kakak kembali! 😊 Ada yang bisa dibantu?",
        "en": "Welcome back, {name}! 😊 How can I help?",
    },
    "menu": {
        "id": "Halo {name}! Aku bisa bantu hal-hal ini, pilih saja ya 👇",
        "en": "Hi {name}! Here is what I can help with, just pick one 👇",
    },
    "menu_group": {
        "id": "Halo semua! Aku asisten {shop}. Sebut aku (@) kalau butuh bantuan ya.",
        "en": "Hi everyone! I'm {shop}'s assistant. Mention me when you need help.",
    },
    "choice_received": {
        "id": "Siap, kakak pilih \"{label}\". Tim kami akan bantu sebentar lagi 🙏",
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

    # greeting / fallback / handoff
    "greeting": {"id": "Halo {name}! 😊 Ada yang bisa aku bantu?", "en": "Hi {name}! 😊 How can I help?"},
    "thanks": {"id": "Sama-sama kak 🙏 Kabari aja kalau butuh apa-apa ya.",
               "en": "You're welcome 🙏 Just message us whenever you need anything."},
    "out_of_scope": {"id": "Maaf kak, soal itu aku belum bisa bantu 🙏 Yang bisa aku bantu di sini 👇",
                     "en": "Sorry, I can't help with that here 🙏 This is what I can help with 👇"},
    "unsure": {"id": "Maaf kak, aku kurang yakin maksudnya 🙏 Apakah salah satu ini?",
               "en": "Sorry, I'm not sure what you mean 🙏 Is it one of these?"},
    "handoff": {"id": "Baik kak, aku sambungkan ke admin kami ya. Mohon ditunggu sebentar, admin akan membalas di chat ini 🙏",
                "en": "Sure, I'm passing you to our staff. Please wait a moment, they will reply in this chat 🙏"},
    "handoff_unsure": {"id": "Maaf kak, aku belum bisa menjawab itu dengan yakin. Aku sambungkan ke admin ya, mohon ditunggu 🙏",
                       "en": "Sorry, I can't answer that with confidence. I'm passing you to our staff, please wait 🙏"},
    "empty": {"id": "Hmm, pesannya kosong kak 😅 Ada yang bisa dibantu?", "en": "Hmm, that message was empty 😅 How can I help?"},
    "sticker": {"id": "Hehe, stikernya lucu 😄 Ada yang bisa aku bantu?", "en": "Nice sticker 😄 How can I help?"},
    # orders
    "catalog_intro": {"id": "Ini menu kami kak 👇 Ketik misalnya \"pesan {example} 2\" atau tekan tombolnya.",
                      "en": "Here is our menu 👇 Type e.g. \"order 2 {example}\" or tap a button."},
    "catalog_empty": {"id": "Maaf kak, menu belum tersedia saat ini 🙏", "en": "Sorry, the menu isn't available right now 🙏"},
    "added": {"id": "Siap! Keranjang kakak:\n{cart}\nTotal: {total}\n\nMau diantar atau ambil di toko?",
              "en": "Done! Your cart:\n{cart}\nTotal: {total}\n\nDelivery or pick up at a store?"},
    "out_of_stock": {"id": "Maaf kak, {product} sedang habis 🙏", "en": "Sorry, {product} is out of stock 🙏"},
    "only_left": {"id": "Maaf kak, {product} tinggal {available}.", "en": "Sorry, only {available} {product} left."},
    "not_now": {"id": "Maaf kak, {product} hanya tersedia jam {hours} 🙏 Bisa pre-order kok, sebutkan waktunya ya, "
                      "mis. \"{example}\".",
                "en": "Sorry, {product} is only available {hours} 🙏 You can pre-order it: just say when, "
                      "e.g. \"{example}\"."},
    "ask_address": {"id": "Mau diantar ke mana kak? Ketik alamat lengkapnya ya 📍",
                    "en": "Where should we deliver? Please type the full address 📍"},
    "choose_store": {"id": "Mau ambil di toko mana kak?", "en": "Which store will you pick up from?"},
    "confirm": {"id": "Cek pesanan dulu ya kak:\n{cart}\n{fulfilment}\nTotal: {total}\n\nSudah benar?",
                "en": "Please check your order:\n{cart}\n{fulfilment}\nTotal: {total}\n\nIs this right?"},
    "deliver_to": {"id": "🛵 Diantar ke: {address}", "en": "🛵 Deliver to: {address}"},
    "deliver_from": {"id": "🏪 Dari: {store}", "en": "🏪 From: {store}"},
    "got_items": {"id": "Siap, dicatat:\n{cart}", "en": "Got it:\n{cart}"},
    "pickup_at": {"id": "🏪 Ambil di: {store}", "en": "🏪 Pick up at: {store}"},
    "placed": {"id": "Pesanan #{number} sudah kami terima 🎉 Total {total}. Kami kabari lagi kalau pesanan dikonfirmasi ya!",
               "en": "Order #{number} received 🎉 Total {total}. We'll let you know when it's confirmed!"},
    "cart_cleared": {"id": "Oke kak, pesanannya dibatalkan. Kabari aja kalau mau pesan lagi 😊",
                     "en": "OK, the order was dropped. Message us whenever you want to order again 😊"},
    "cart_empty": {"id": "Keranjangnya masih kosong kak. Mau pesan apa?", "en": "Your cart is empty. What would you like?"},
    "stale_button": {"id": "Maaf kak, tombol itu sudah tidak berlaku 🙏 Silakan mulai lagi ya.",
                     "en": "Sorry, that button has expired 🙏 Please start again."},
    "no_orders": {"id": "Aku belum menemukan pesanan kakak lewat chat ini 🙏 Mau pesan sekarang, atau aku sambungkan ke admin untuk dicek?",
                  "en": "I can't find any order of yours through this chat 🙏 Would you like to order now, or shall I get a staff member to check?"},
    "order_not_found": {"id": "Maaf kak, pesanan #{number} tidak ditemukan di akun kakak. Coba cek lagi nomornya ya 🙏",
                        "en": "Sorry, I can't find order #{number} on your account. Please check the number 🙏"},
    "order_line": {"id": "#{number} · {status} · {total} · {date}", "en": "#{number} · {status} · {total} · {date}"},
    "order_for": {"id": "untuk {when}", "en": "for {when}"},
    "orders_intro": {"id": "Ini pesanan terakhir kakak:", "en": "Your latest orders:"},
    "ask_cancel": {"id": "Yakin mau batalkan pesanan #{number} ({total})?", "en": "Cancel order #{number} ({total})?"},
    "cancelled": {"id": "Pesanan #{number} sudah dibatalkan ✅", "en": "Order #{number} is cancelled ✅"},
    "too_late": {"id": "Maaf kak, pesanan #{number} sudah {status}, jadi tidak bisa dibatalkan lagi. Kalau ada masalah, aku bisa sambungkan ke admin 🙏",
                 "en": "Sorry, order #{number} is already {status}, so it can't be cancelled any more. I can connect you with our staff if there is a problem 🙏"},
    "nothing_to_cancel": {"id": "Tidak ada pesanan yang bisa dibatalkan kak.", "en": "There is no order that can be cancelled."},
    "keep_order": {"id": "Oke kak, pesanan tetap diproses 👍", "en": "OK, the order stays 👍"},
    "counter_purchase": {"id": "Terima kasih sudah belanja di toko kami 🙏 Pembelian #{number}: {total}.",
                         "en": "Thank you for shopping at our store 🙏 Purchase #{number}: {total}."},
    "status_changed": {"id": "Kabar pesanan #{number}: {status} {emoji}", "en": "Order #{number} update: {status} {emoji}"},
    "complaint_status": {"id": "Kabar tiket keluhan {number}: {status}", "en": "Complaint ticket {number} update: {status}"},
    "complaint_in_progress": {"id": "sedang kami tangani 🙏", "en": "we are working on it 🙏"},
    "complaint_resolved": {"id": "sudah selesai ✅ Terima kasih atas kesabarannya", "en": "resolved ✅ Thank you for your patience"},
    "complaint_closed": {"id": "ditutup", "en": "closed"},
    "complaint_open": {"id": "dibuka kembali", "en": "reopened"},
    # the order conversation (handlers.orders, handlers.order_flow)
    "ask_items": {"id": "Mau pesan apa kak? Ketik aja, misalnya \"2 {example}\".",
                  "en": "What would you like? Just type it, e.g. \"2 {example}\"."},
    "not_on_menu": {"id": "Maaf kak, {items} tidak ada di menu kami.", "en": "Sorry, {items} is not on our menu."},
    "maybe": {"id": "Mungkin mau: {names}?", "en": "Maybe: {names}?"},
    "which_product": {"id": "\"{words}\" yang mana kak? 👇", "en": "Which \"{words}\" do you mean? 👇"},
    "removed": {"id": "Oke, {product} dihapus dari pesanan.", "en": "OK, {product} is removed from the order."},
    "yes_we_can": {"id": "Bisa kak 👍", "en": "Yes, we can 👍"},
    "store_chosen": {"id": "Oke, ambil di {store} ya 🏪", "en": "OK, pick up at {store} 🏪"},
    "time_chosen": {"id": "Oke, {when} ya ⏱️", "en": "OK, {when} ⏱️"},
    "prices": {"id": "Ini harganya kak 👇 Tekan tombolnya kalau mau pesan.", "en": "Here are the prices 👇 Tap to order."},
    "ask_phone": {"id": "Nomor HP yang bisa dihubungi kurir berapa kak? 📞",
                  "en": "Which phone number can the courier call? 📞"},
    "address_unclear": {"id": "Alamat \"{address}\" belum cukup buat kurir kak 🙏 Tolong ketik nama jalan dan "
                               "nomornya (atau gedung/perumahan), atau kirim lokasi 📍",
                        "en": "\"{address}\" is not enough for the courier 🙏 Please type the street and number "
                              "(or building/complex), or share your location 📍"},
    "ask_time": {"id": "Jam berapa kak?", "en": "At what time?"},
    "time_passed": {"id": "Jam itu sudah lewat kak.", "en": "That time has already passed."},
    "ask_payment": {"id": "Mau bayar pakai apa kak?", "en": "How would you like to pay?"},
    "payment_not_here": {"id": "{method} tidak bisa untuk pesanan ini kak.", "en": "{method} isn't available for this order."},
    "below_minimum": {"id": "Minimal pesanan antar {minimum} kak (sekarang {amount}). Mau tambah menu lagi, atau "
                             "ambil sendiri di toko?",
                      "en": "Delivery needs at least {minimum} (now {amount}). Add something more, or pick it up "
                            "at a store?"},
    "out_of_reach": {"id": "Maaf kak, alamat itu di luar jangkauan antar toko kami, jadi belum bisa diantar 🙏 Mau "
                            "ambil sendiri di {stores}, atau kirim alamat lain?",
                     "en": "Sorry, that address is beyond our stores' delivery range, so we can't deliver there 🙏 "
                           "Pick up at {stores} instead, or send another address?"},
    "out_of_reach_no_pickup": {"id": "Maaf kak, alamat itu di luar jangkauan antar toko kami, jadi belum bisa diantar "
                                      "🙏 Mau kirim alamat lain?",
                               "en": "Sorry, that address is beyond our stores' delivery range, so we can't deliver "
                                     "there 🙏 Would you like to send another address?"},
    "no_delivery": {"id": "Maaf kak, saat ini kami belum melayani antar 🙏 Mau ambil sendiri di {stores}?",
                    "en": "Sorry, we don't deliver at the moment 🙏 Would you like to pick up at {stores}?"},
    "no_delivery_no_pickup": {"id": "Maaf kak, saat ini pesanan belum bisa diantar maupun diambil di toko 🙏",
                              "en": "Sorry, we can't take delivery or pickup orders at the moment 🙏"},
    "pickup_off": {"id": "Maaf kak, {store} tidak melayani ambil sendiri 🙏 Bisa ambil di: {stores}.",
                   "en": "Sorry, {store} doesn't offer pickup 🙏 You can pick up at: {stores}."},
    "no_pickup": {"id": "Maaf kak, saat ini belum ada toko kami yang melayani ambil sendiri 🙏 Mau diantar saja?",
                  "en": "Sorry, none of our stores offers pickup at the moment 🙏 Shall we deliver instead?"},
    "pickup_only": {"id": "hanya ambil sendiri, tidak antar", "en": "pickup only, no delivery"},
    "delivery_only": {"id": "hanya antar, tidak bisa ambil sendiri", "en": "delivery only, no pickup"},
    "no_orders_here": {"id": "tidak melayani antar maupun ambil sendiri", "en": "no delivery or pickup"},
    "summary": {"id": "Cek pesanan dulu ya kak:\n{cart}\n{money}Total: {total}\n{details}\n\nSudah benar? "
                      "Ketik \"iya\" untuk pesan, atau tulis yang mau diubah.",
                "en": "Please check your order:\n{cart}\n{money}Total: {total}\n{details}\n\nIs this right? "
                      "Type \"yes\" to order, or tell me what to change."},
    "subtotal": {"id": "Subtotal: {amount}", "en": "Subtotal: {amount}"},
    "fee_line": {"id": "Ongkir: {amount}", "en": "Delivery: {amount}"},
    "fee_free": {"id": "Ongkir: gratis 🎉", "en": "Delivery: free 🎉"},
    "when_now": {"id": "sekarang", "en": "now"},
    "when_line": {"id": "⏱️ Waktu: {when}", "en": "⏱️ Time: {when}"},
    "pre_order": {"id": "⏱️ Pre-order: {when} (tokonya tutup di jam itu, jadi kami siapkan saat buka)",
                  "en": "⏱️ Pre-order: {when} (the store is closed then, so we make it when it opens)"},
    "pre_order_closed_now": {"id": "⏱️ Pre-order: {when} (tokonya sedang tutup, jadi kami siapkan saat buka)",
                             "en": "⏱️ Pre-order: {when} (the store is closed now, so we make it when it opens)"},
    "today": {"id": "hari ini", "en": "today"},
    "tomorrow": {"id": "besok", "en": "tomorrow"},
    "shared_location": {"id": "lokasi yang dikirim 📍", "en": "the shared location 📍"},
    "what_to_change": {"id": "Oke kak, mau ubah apa? Tulis aja, misalnya \"kopinya jadi 3\" atau \"ganti ke "
                              "ambil sendiri\".",
                       "en": "OK, what should I change? Just write it, e.g. \"make it 3 coffees\" or \"pick up "
                             "instead\"."},
    "didnt_catch": {"id": "Maaf kak, aku belum nangkep maksudnya 🙏", "en": "Sorry, I didn't catch that 🙏"},
    "noted": {"id": "Siap kak, sudah sesuai 👍", "en": "Got it, that's what I have 👍"},
    "resume": {"id": "Lanjut pesanannya ya kak 👇", "en": "Back to your order 👇"},
    "order_store_hours": {"id": "{store} {status} 🕒", "en": "{store}: {status} 🕒"},
    "hours_today_differ": {"id": "Hari ini jamnya berbeda:\n{today}\n\nBiasanya: {usual}",
                           "en": "Today's hours differ:\n{today}\n\nUsually: {usual}"},
    # handing over to staff, and when they answer
    "staff_on_duty": {"id": "Admin biasanya membalas dalam beberapa menit (jam kerja hari ini {hours}).",
                      "en": "Staff usually reply within minutes (today's hours {hours})."},
    "staff_off_duty": {"id": "Admin kami sedang tidak bertugas 🙏 Pesan kakak sudah kami teruskan dan akan dibalas "
                              "mulai {when}. Sementara itu aku tetap bisa bantu pesan, cek pesanan, atau info promo 😊",
                       "en": "Our staff are off duty right now 🙏 Your message is passed on and they will reply from "
                             "{when}. Meanwhile I can still help you order, check an order or see promos 😊"},
    "staff_late": {"id": "Maaf kak, admin belum sempat membalas 🙏 Pesan kakak tetap di antrean admin; sementara "
                          "aku bantu dulu ya.",
                   "en": "Sorry, our staff haven't replied yet 🙏 Your message stays in their queue; meanwhile "
                         "I'll help as best I can."},
    "faq_unknown": {"id": "Maaf kak, aku belum punya jawaban untuk itu 🙏 Yang sering ditanyakan (ketik nomornya):",
                    "en": "Sorry, I don't have an answer for that yet 🙏 What people often ask (type its number):"},
    "faq_maybe": {"id": "Mungkin ini yang kakak maksud:", "en": "This may be what you mean:"},
    # complaints
    "complaint": {"id": "Mohon maaf banget kak atas ketidaknyamanannya 🙏 Keluhan kakak sudah kami catat dengan nomor tiket {number}. Tim kami akan menghubungi paling lambat {due}.",
                  "en": "We're very sorry about this 🙏 Your complaint is logged as ticket {number}. Our team will get back to you by {due} at the latest."},
    "complaint_order": {"id": "Terkait pesanan #{number}.", "en": "About order #{number}."},
    "complaint_noted": {"id": "Sudah kami catat di tiket {number} ya kak 🙏 Pesan ini juga kami teruskan ke tim kami.",
                        "en": "This is noted on ticket {number} 🙏 We've passed this message on to our team too."},
    "payment_proof": {"id": "Makasih kak, bukti bayarnya sudah kami terima 🙏 Tim kami cek dulu untuk pesanan {number}, "
                             "nanti kami kabari ya.",
                      "en": "Thank you, we've got your proof of payment 🙏 Our team will check it for order {number} "
                            "and let you know."},
    # faq
    "faq_clarify": {"id": "Maksud kakak yang mana ya? Ketik nomornya 👇", "en": "Which of these do you mean? Type its number 👇"},
    # promotions
    "promos": {"id": "Promo buat kakak hari ini 🎁", "en": "Today's offers for you 🎁"},
    "no_promos": {"id": "Belum ada promo yang berlaku buat kakak saat ini. Nanti kami kabari ya! 😊",
                  "en": "There are no offers for you right now. We'll let you know! 😊"},
    "voucher": {"id": "Kode voucher: {code}", "en": "Voucher code: {code}"},
    "valid_until": {"id": "Berlaku s.d. {date}", "en": "Valid until {date}"},
    "valid_on": {"id": "Berlaku {when}", "en": "Valid {when}"},
    "promo_not_now": {"id": "{title} berlaku {when} ya kak, jadi belum bisa dipakai sekarang 🙏",
                      "en": "{title} is valid {when}, so it can't be used right now 🙏"},
    "promo_used": {"id": "{title} hanya bisa dipakai sekali per pelanggan, dan kakak sudah memakainya 🙏",
                   "en": "{title} can be used once per customer, and you've already used it 🙏"},
    "promo_spent": {"id": "Kuota {title} sudah habis kak 🙏", "en": "{title} has run out 🙏"},
    "voucher_applied": {"id": "Kode voucher {code} ({title}) dipakai untuk pesanan ini ✅",
                        "en": "Voucher code {code} ({title}) is applied to this order ✅"},
    "voucher_unknown": {"id": "Maaf kak, kode voucher {code} tidak kami temukan 🙏",
                        "en": "Sorry, we couldn't find the voucher code {code} 🙏"},
    "voucher_not_now": {"id": "Kode voucher {code} belum/tidak berlaku sekarang kak 🙏",
                        "en": "The voucher code {code} isn't valid right now 🙏"},
    "voucher_not_for_you": {"id": "Maaf kak, kode voucher {code} tidak berlaku untuk kakak 🙏",
                            "en": "Sorry, the voucher code {code} doesn't apply to you 🙏"},
    "discount_line": {"id": "Potongan voucher: -{amount}", "en": "Voucher discount: -{amount}"},
    "voucher_free_added": {"id": "{product} gratisnya sudah kami masukkan ke pesanan 🎁",
                           "en": "Your free {product} is now in the order 🎁"},
    "reward_held": {"id": "🎁 Kakak punya voucher {code} ({title}). Ketik \"pakai kode {code}\" untuk memakainya.",
                    "en": "🎁 You have voucher {code} ({title}). Type \"use code {code}\" to use it."},
    "voucher_line": {"id": "🎟️ Voucher {code} ({title})", "en": "🎟️ Voucher {code} ({title})"},
    "promos_now": {"id": "Promo yang berlaku sekarang 👇", "en": "Offers valid right now 👇"},
    # location
    "ask_location": {"id": "Boleh kirim lokasi kakak (tombol 📍) atau ketik nama daerahnya, misalnya \"Kemang\"? Lokasinya hanya kami pakai untuk mencari toko terdekat.",
                     "en": "Please share your location (📍 button) or type an area name, e.g. \"Kemang\". We only use it to find your nearest store."},
    "nearest": {"id": "Toko terdekat dari {place} 👇 (lokasi kakak kami simpan untuk info toko & promo terdekat; ketik \"hapus lokasi\" kapan saja untuk menghapusnya)",
                "en": "Nearest stores to {place} 👇 (we keep your location for nearby store info & offers; type \"forget my location\" anytime to remove it)"},
    "your_location": {"id": "lokasi kakak", "en": "your location"},
    "no_store_near": {"id": "Maaf kak, belum ada toko kami dalam {km} km dari lokasi itu 🙏 Toko kami ada di: {areas}.",
                      "en": "Sorry, we have no store within {km} km of that location 🙏 Our stores are in: {areas}."},
    "bad_location": {"id": "Maaf kak, lokasinya tidak bisa kami baca. Coba kirim ulang ya 🙏", "en": "Sorry, I couldn't read that location. Please send it again 🙏"},
    "location_forgotten": {"id": "Lokasi kakak sudah kami hapus ✅", "en": "Your location has been removed ✅"},
    "open_now": {"id": "buka", "en": "open"},
    "closed_now": {"id": "tutup", "en": "closed"},
    "offers_here": {"id": "🎁 Promo di sekitar sini: {offers}", "en": "🎁 Offers around here: {offers}"},
    # broadcasts: opt-out and back in (per chat; the words name no platform)
    "opted_out": {"id": "Oke kak, kakak tidak akan menerima pesan promo lagi di chat ini. Ngobrol dan pesan tetap "
                        "bisa seperti biasa. Ketik MULAI kalau mau menerima promo lagi.",
                  "en": "Done, you won't get promotional messages in this chat any more. Chatting and ordering "
                        "work as usual. Type SUBSCRIBE to get promos again."},
    "opted_in": {"id": "Siap kak, kakak akan menerima info promo lagi di chat ini 🎉 Ketik BERHENTI kapan saja untuk "
                       "berhenti.",
                 "en": "Great, you'll get our promos in this chat again 🎉 Type STOP any time to stop."},
    # a staff member links their chat account with a code from the inbox
    "staff_linked": {"id": "Beres! Chat ini sekarang terhubung ke {name} di inbox. Tes kirim kampanye "
                           "dan notifikasi yang dipilih akan masuk ke chat ini.",
                     "en": "Done! This chat is now linked to {name} in the inbox. Campaign "
                           "test-sends and the alerts chosen will arrive in this chat."},
    "staff_link_invalid": {"id": "Kode itu tidak berlaku (salah, sudah dipakai, atau kedaluwarsa). Minta kode baru "
                                 "di halaman \"Akun chat saya\" di inbox.",
                           "en": "That code is not valid (wrong, already used or expired). Get a new one on the "
                                 "\"My chat accounts\" page of the inbox."},
    # a customer links their accounts on two channels: a one-time code asked for in one chat, sent from the other
    "link_code": {"id": "Kode untuk menghubungkan akun kakak: {code}\nKirim kode ini dari akun chat kakak yang lain "
                        "dalam {minutes} menit (hanya sekali pakai). Riwayat chat, pesanan, dan data kakak akan jadi satu.",
                  "en": "Your code to link your accounts: {code}\nSend it from your other chat account within {minutes} "
                        "minutes (it works once). Your chats, orders and details become one."},
    "link_code_url": {"id": "Atau buka tautan ini dari akun yang lain: {url}", "en": "Or open this link from the other account: {url}"},
    "account_linked": {"id": "Beres kak! Akun ini sekarang terhubung dengan akun kakak yang lain. Riwayat chat dan "
                             "pesanan kakak sudah jadi satu 🎉",
                       "en": "Done! This account is now linked to your other account. Your chats and orders are one "
                             "history now 🎉"},
    "account_linked_asker": {"id": "Beres kak! Akun chat kakak yang lain sudah terhubung ke akun ini 🎉",
                             "en": "Done! Your other chat account is now linked to this one 🎉"},
    "link_code_unknown": {"id": "Maaf kak, kode itu tidak kami kenali 🙏 Cek lagi kodenya, atau ketik \"hubungkan akun\" "
                                "di akun yang lain untuk kode baru.",
                          "en": "Sorry, I don't recognise that code 🙏 Please check it, or type \"link account\" in "
                                "your other account for a new one."},
    "link_code_expired": {"id": "Maaf kak, kode itu sudah kedaluwarsa (berlaku {minutes} menit) 🙏 Ketik \"hubungkan "
                                "akun\" di akun yang lain untuk kode baru.",
                          "en": "Sorry, that code has expired (it lasts {minutes} minutes) 🙏 Type \"link account\" in "
                                "your other account for a new one."},
    "link_code_used": {"id": "Kode itu sudah terpakai kak. Ketik \"hubungkan akun\" di akun yang lain untuk kode baru.",
                       "en": "That code has been used already. Type \"link account\" in your other account for a new one."},
    "link_code_same": {"id": "Kode ini dari akun ini sendiri kak 😊 Kirim kodenya dari akun chat kakak yang lain ya.",
                       "en": "This code came from this very account 😊 Please send it from your other chat account."},
    # the member code a customer shows at the counter (handlers.member_code; the points answer mentions it)
    "member_code": {"id": "Kode member kakak: {code} 🪪\nTunjukkan kode ini ke kasir saat belanja di toko, biar poinnya "
                          "masuk ke akun ini (atau untuk tukar poin). Poin kakak sekarang: {balance}.",
                    "en": "Your member code: {code} 🪪\nShow it at the counter when you shop in store, so the points "
                          "go to this account (or to redeem them). Your points now: {balance}."},
    "points_member_code": {"id": "Belanja di toko? Tunjukkan kode member kakak ke kasir: {code}",
                           "en": "Shopping in store? Show your member code at the counter: {code}"},
    "counter_redeemed": {"id": "{points} poin kakak ditukar dengan {reward} di kasir 🎁 Sisa poin: {balance}.",
                         "en": "{points} of your points were redeemed for {reward} at the counter 🎁 Points left: {balance}."},
    "points_member_code_ask": {"id": "Belanja di toko? Ketik \"kartu member\" untuk kode member yang ditunjukkan ke kasir.",
                               "en": "Shopping in store? Type \"member card\" for the member code to show at the counter."},
    # an imported member's phone number given in chat: linked only when the customer says yes (crm/phone_claims.py)
    "phone_claim_ask": {"id": "Nomor {phone} sudah terdaftar sebagai member atas nama {name}. Itu kakak? (ya/bukan)",
                        "en": "The number {phone} is registered as a member under the name {name}. Is that you? "
                              "(yes/no)"},
    "phone_claim_linked": {"id": "Sip kak, akun chat ini sekarang terhubung dengan data member kakak 🎉 Poin dan "
                                 "riwayat pesanan kakak sudah jadi satu.",
                           "en": "Done! This chat is now linked to your membership 🎉 Your points and orders are one "
                                 "history now."},
    "phone_claim_declined": {"id": "Oke kak, tidak kami hubungkan. Kami tidak akan tanya lagi soal nomor itu 🙏",
                             "en": "OK, we won't link it, and we won't ask about that number again 🙏"},
    "phone_claim_gone": {"id": "Maaf kak, data member itu tidak bisa dihubungkan dari chat sekarang 🙏 Tim kami bisa "
                               "bantu kalau kakak minta bicara dengan admin.",
                         "en": "Sorry, that membership can't be linked from chat now 🙏 Our team can help if you ask "
                               "for a person."},
    # an alert on a staff member's linked chat, and their answer to it with /r
    "phone_alert": {"id": "🔔 {kind}: {name} (percakapan #{id})",
                    "en": "🔔 {kind}: {name} (conversation #{id})"},
    "phone_alert_answer": {"id": "Balas dari sini: /r {id} <teks>", "en": "Answer from here: /r {id} <text>"},
    "phone_alert_someone": {"id": "pelanggan", "en": "a customer"},
    # alerts held for a staff member's hours or daily digest, sent as one message
    "phone_alert_held": {"id": "🔔 {count} notifikasi selama di luar jam kerja:",
                         "en": "🔔 {count} alerts while you were off:"},
    "phone_alert_digest": {"id": "🔔 Ringkasan: {count} notifikasi sejak ringkasan terakhir:",
                           "en": "🔔 Digest: {count} alerts since the last digest:"},
    "phone_alert_line": {"id": "• {kind}: {name} (percakapan #{id})", "en": "• {kind}: {name} (conversation #{id})"},
    "phone_alert_more": {"id": "… dan {count} lainnya di inbox", "en": "… and {count} more in the inbox"},
    # the same alerts by email
    "email_alert_subject": {"id": "[{shop}] {kind}: {name}", "en": "[{shop}] {kind}: {name}"},
    "email_held_subject": {"id": "[{shop}] {count} notifikasi selama di luar jam kerja",
                           "en": "[{shop}] {count} alerts while you were off"},
    "email_digest_subject": {"id": "[{shop}] Ringkasan: {count} notifikasi", "en": "[{shop}] Digest: {count} alerts"},
    "email_alert_open": {"id": "Buka percakapan di inbox: {link}", "en": "Open the conversation in the inbox: {link}"},
    "email_alert_why": {"id": "Email ini dikirim karena Anda memilih notifikasi lewat email. Ubah di {link}",
                        "en": "You get this email because you chose alerts by email. Change it on {link}"},
    "alert.complaint": {"id": "Keluhan", "en": "Complaint"},
    "alert.negative": {"id": "Pelanggan sangat kecewa", "en": "Very unhappy customer"},
    "alert.handoff": {"id": "Minta bicara dengan staf", "en": "Asks for staff"},
    "alert.sla": {"id": "Batas waktu keluhan", "en": "Complaint SLA"},
    "alert.order_waiting": {"id": "Pesanan menunggu konfirmasi", "en": "Order waiting for confirmation"},
    "alert.payment_proof": {"id": "Bukti bayar masuk", "en": "Payment proof received"},
    "alert.send_failed": {"id": "Balasan staf gagal terkirim", "en": "Staff reply not delivered"},
    "alert.campaign_paused": {"id": "Kampanye dijeda (kuota)", "en": "Campaign paused (quota)"},
    "alert.low_rating": {"id": "Rating rendah", "en": "Low rating"},
    "staff_reply_sent": {"id": "Terkirim ke {name}.", "en": "Sent to {name}."},
    "staff_reply_usage": {"id": "Cara membalas: /r <nomor percakapan> <teks>, misalnya /r 12 Baik kak, kami cek.",
                          "en": "To answer: /r <conversation number> <text>, e.g. /r 12 Sure, we'll check."},
    "staff_reply_unknown": {"id": "Percakapan #{id} tidak ada. Cek nomornya di pesan notifikasi.",
                            "en": "There is no conversation #{id}. Check the number in the alert."},
    "staff_reply_refused": {"id": "Balasan tidak dikirim: {why}", "en": "Reply not sent: {why}"},
    "staff_reply_not_allowed": {"id": "Akun staf ini tidak boleh membalas pelanggan.",
                                "en": "This staff account may not answer customers."},
    # the satisfaction survey after a resolved chat or a delivered order, and its answers
    "csat_question_chat": {"id": "Makasih sudah ngobrol sama kami, kak {name}! 🙏 Gimana pelayanan kami tadi? "
                                 "Kasih nilai 1–5 ya (5 = puas banget).",
                           "en": "Thanks for chatting with us, {name}! 🙏 How did we do? "
                                 "Give us a score from 1 to 5 (5 = very happy)."},
    "csat_question_order": {"id": "Pesanan #{number} sudah sampai ya, kak {name} 🎉 Gimana pengalaman kakak? "
                                  "Kasih nilai 1–5 ya (5 = puas banget).",
                            "en": "Your order #{number} has arrived, {name} 🎉 How was it? "
                                  "Give us a score from 1 to 5 (5 = very happy)."},
    "csat_thanks": {"id": "Makasih banyak atas nilainya, kak! 🙏 Ada yang mau kakak sampaikan? Ketik aja di sini, "
                          "atau pilih Lewati.",
                    "en": "Thank you for your score! 🙏 Anything you'd like to tell us? Just type it here, or tap Skip."},
    "csat_thanks_low": {"id": "Makasih sudah jujur, kak 🙏 Maaf pengalamannya kurang menyenangkan, tim kami sudah "
                              "diberi tahu. Boleh cerita apa yang kurang? Ketik aja di sini, atau pilih Lewati.",
                        "en": "Thank you for being honest 🙏 We're sorry it wasn't better; our team has been told. "
                              "What went wrong? Just type it here, or tap Skip."},
    "csat_thanks_with_comment": {"id": "Makasih banyak atas nilai dan masukannya, kak! 🙏 Sudah kami catat.",
                                 "en": "Thank you for your score and your words! 🙏 We've noted them."},
    "csat_comment_noted": {"id": "Siap, masukannya sudah kami catat. Makasih ya, kak! 😊",
                           "en": "Noted, thank you for telling us! 😊"},
    "csat_skipped": {"id": "Oke kak, makasih ya! 😊", "en": "OK, thank you! 😊"},
    "csat_already": {"id": "Nilai dari kakak sudah kami catat sebelumnya. Makasih ya! 😊",
                     "en": "We already have your score. Thank you! 😊"},
    # the main menu's buttons, by intent (postback `intent=<name>`)
    "menu.order": {"id": "🛒 Pesan", "en": "🛒 Order"},
    "menu.order_status": {"id": "📦 Cek pesanan", "en": "📦 My order"},
    "menu.promotion": {"id": "🎁 Promo", "en": "🎁 Promos"},
    "menu.location": {"id": "📍 Toko terdekat", "en": "📍 Nearest store"},
    "menu.faq": {"id": "❓ Tanya-tanya", "en": "❓ Questions"},
    "menu.human_handoff": {"id": "🙋 Hubungi admin", "en": "🙋 Talk to staff"},
    # order statuses in the customer's words
    "status.new": {"id": "diterima", "en": "received"},
    "status.confirmed": {"id": "dikonfirmasi", "en": "confirmed"},
    "status.preparing": {"id": "sedang disiapkan", "en": "being prepared"},
    "status.shipped": {"id": "dalam pengiriman", "en": "on the way"},
    "status.delivered": {"id": "sudah sampai", "en": "delivered"},
    "status.cancelled": {"id": "dibatalkan", "en": "cancelled"},
    # a pickup order's "shipped" is ready at the store, its "delivered" collected
    "status.shipped.pickup": {"id": "siap diambil di toko", "en": "ready to collect"},
    "status.delivered.pickup": {"id": "sudah diambil", "en": "collected"},
    # what happens next to an order under way, after its status ("when will it arrive?")
    "status_next.new": {"id": "Pesanan #{number} menunggu konfirmasi toko; kami kabari begitu dikonfirmasi ya kak.",
                        "en": "Order #{number} is waiting for the shop to confirm it; we'll message you as soon as "
                              "it is."},
    "status_next.confirmed": {"id": "Pesanan #{number} sudah dikonfirmasi dan segera disiapkan; kami kabari lagi "
                                    "saat {ready} ya kak.",
                              "en": "Order #{number} is confirmed and about to be prepared; we'll message you when "
                                    "{ready}."},
    "status_next.preparing": {"id": "Pesanan #{number} sedang disiapkan; kami kabari lagi saat {ready} ya kak.",
                              "en": "Order #{number} is being prepared; we'll message you when {ready}."},
    "status_next.shipped": {"id": "Pesanan #{number} sedang diantar kurir ke alamat kakak 🛵",
                            "en": "Order #{number} is with the courier, on its way to you 🛵"},
    "status_next.shipped.pickup": {"id": "Pesanan #{number} sudah siap diambil di toko 🏪",
                                   "en": "Order #{number} is ready to collect at the store 🏪"},
    "ready.delivery": {"id": "dikirim", "en": "it's on its way"},
    "ready.pickup": {"id": "siap diambil", "en": "it's ready to collect"},
    # loyalty points (handlers.loyalty, the delivered order's notification)
    "points_earned": {"id": "Kakak dapat +{points} poin dari pesanan #{number} 🎁 Poin kakak sekarang {balance}.",
                      "en": "You earned +{points} points with order #{number} 🎁 Your balance is now {balance} points."},
    "points_reversed": {"id": "{points} poin dari pesanan #{number} kami tarik kembali karena pesanannya dibatalkan. "
                              "Poin kakak sekarang {balance}.",
                        "en": "{points} points of order #{number} were taken back as the order was cancelled. "
                              "Your balance is now {balance} points."},
    "points_birthday": {"id": "Selamat ulang tahun kak! 🎂 Ada hadiah +{points} poin dari kami. Poin kakak sekarang "
                              "{balance}.",
                        "en": "Happy birthday! 🎂 Here are +{points} points from us. Your balance is now {balance} "
                              "points."},
    "stamps_none": {"id": "Kami belum punya kartu stempel kak, tapi tiap belanja dapat poin 🙂",
                    "en": "We don't have a stamp card, but every order earns points 🙂"},
    "stamps_balance": {"id": "Kartu stempel kakak: {stamps} dari {card} ☕ Tiap {item} dapat 1 stempel; kartu penuh = "
                             "1 {free} gratis.",
                       "en": "Your stamp card: {stamps} of {card} ☕ Each {item} earns a stamp; a full card = "
                             "1 free {free}."},
    "stamps_earned": {"id": "+{stamps} stempel ☕ Kartu kakak sekarang {held} dari {card}.",
                      "en": "+{stamps} stamps ☕ Your card now has {held} of {card}."},
    "stamps_full_card": {"id": "Kartu stempel penuh 🎉 Ini voucher item gratisnya: {code} (ketik \"pakai kode {code}\" "
                                "saat pesan).",
                         "en": "Stamp card full 🎉 Here is your free-item voucher: {code} (type \"use code {code}\" "
                               "when you order)."},
    "points_balance": {"id": "Poin kakak: {balance} ⭐ Level: {tier}.", "en": "Your points: {balance} ⭐ Tier: {tier}."},
    "points_next_tier": {"id": "Kumpulkan {points} poin lagi dalam 12 bulan untuk naik ke {tier} ya kak.",
                         "en": "Earn {points} more points within 12 months to reach {tier}."},
    "points_rewards": {"id": "Bisa ditukar dengan:\n{rewards}\nKetik \"tukar poin\" untuk menukar.",
                       "en": "They buy:\n{rewards}\nType \"redeem points\" to redeem."},
    "points_no_rewards": {"id": "Belum ada hadiah yang bisa ditukar saat ini kak.",
                          "en": "There are no rewards to redeem right now."},
    "points_reward_line": {"id": "{number}. {name} — {points} poin", "en": "{number}. {name} — {points} points"},
    "points_earn_how": {"id": "Dapat {rate} poin tiap belanja Rp1.000 (di luar ongkir) 🙂",
                        "en": "Points: {rate} for every Rp1,000 spent (delivery not included) 🙂"},
    "points_expiry": {"id": "Poin hangus kalau {months} bulan tidak ada belanja.",
                      "en": "Points lapse after {months} months without a purchase."},
    "points_pick_reward": {"id": "Poin kakak {balance}. Mau tukar yang mana? Pilih ya 👇\n{rewards}",
                           "en": "You have {balance} points. Which reward would you like? Pick one 👇\n{rewards}"},
    "points_too_few": {"id": "Poin kakak {balance}, belum cukup untuk {reward} ({points} poin) 🙏 Yuk kumpulkan lagi!",
                       "en": "You have {balance} points, not enough for {reward} ({points} points) 🙏 Keep collecting!"},
    "points_redeemed": {"id": "Berhasil! 🎉 {points} poin ditukar dengan {reward}. Kode voucher kakak: {code} "
                              "(berlaku sampai {until}). Pakai saat pesan: \"pakai kode {code}\". Sisa poin: {balance}.",
                        "en": "Done! 🎉 {points} points redeemed for {reward}. Your voucher code: {code} "
                              "(valid until {until}). Use it when you order: \"use code {code}\". Points left: {balance}."},
    "button.redeem_points": {"id": "🎁 Tukar poin", "en": "🎁 Redeem points"},
    # the product offered with the cart, once per order (frequently bought together: crm.cross_sell)
    "cross_sell_offer": {"id": "Mau sekalian {product}-nya kak? ({price})",
                         "en": "Would you like a {product} with that? ({price})"},
    "offer_declined": {"id": "Oke kak 👍", "en": "Sure 👍"},
    "button.offer_yes": {"id": "👍 Boleh", "en": "👍 Yes please"},
    "button.offer_no": {"id": "Ga usah", "en": "No thanks"},
    # button labels
    "button.add_more": {"id": "➕ Tambah", "en": "➕ Add more"},
    "button.delivery": {"id": "🛵 Diantar", "en": "🛵 Delivery"},
    "button.pickup": {"id": "🏪 Ambil sendiri", "en": "🏪 Pick up"},
    "button.confirm": {"id": "✅ Pesan sekarang", "en": "✅ Place order"},
    "button.drop": {"id": "✖️ Batal", "en": "✖️ Cancel"},
    "button.order_one": {"id": "Pesan 1", "en": "Order 1"},
    "button.yes_cancel": {"id": "Ya, batalkan", "en": "Yes, cancel"},
    "button.no_keep": {"id": "Tidak jadi", "en": "No, keep it"},
    "button.map": {"id": "🗺️ Peta", "en": "🗺️ Map"},
    "button.check_status": {"id": "📦 Cek pesanan", "en": "📦 Check order"},
    "button.share_location": {"id": "📍 Kirim lokasi", "en": "📍 Share location"},
    "button.skip": {"id": "Lewati", "en": "Skip"},
    "button.phone_claim_yes": {"id": "Ya, itu saya", "en": "Yes, that's me"},
    "button.phone_claim_no": {"id": "Bukan", "en": "No"},
})

# The main menu, in this order.
MENU_INTENTS = ("order", "order_status", "promotion", "location", "faq", "human_handoff")
STATUS_EMOJI = {"new": "📝", "confirmed": "✅", "preparing": "👩‍🍳", "shipped": "🛵", "delivered": "🎉", "cancelled": "❌"}


def text(key: str, language: str, **values: str) -> str:
    """The wording for `key` in `language` (Indonesian when unknown), with values filled in."""
    return CHAT.text(key, language, **values)


def menu_label(intent: str, language: str) -> str:
    """The main menu's button for `intent`."""
    return CHAT.text(f"menu.{intent}", language)


def status_label(status: str, language: str, fulfilment: str = "delivery") -> str:
    """An order status in the customer's words (a pickup order's own where it differs)."""
    for key in (f"status.{status}.{fulfilment}", f"status.{status}"):
        if key in CHAT:
            return CHAT.text(key, language)
    return status


def status_emoji(status: str, fulfilment: str = "delivery") -> str:
    """The emoji after an order's status: a store, not a scooter, for a pickup order that is ready."""
    return "🏪" if (status, fulfilment) == ("shipped", "pickup") else STATUS_EMOJI.get(status, "")


def button(key: str, language: str) -> str:
    """A button label."""
    return CHAT.text(f"button.{key}", language)

