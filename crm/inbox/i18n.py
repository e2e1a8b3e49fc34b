"""The inbox's words in Indonesian and English: one catalog, one lookup function.

`t(key, **values)` answers in the current staff member's language (`StaffUser.language`,
else the `lang` cookie of the login page, else Indonesian). Templates get it as `t`;
other staff blueprints import it (`from crm.inbox.i18n import t`) and may add their own
keys with `register({...})`. A test checks that every key has both languages.
"""

from __future__ import annotations

from flask import g, has_request_context, request

LANGUAGES = ("id", "en")
DEFAULT = "id"

CATALOG: dict[str, dict[str, str]] = {
    # navigation and common words
    "app_name": {"id": "Sapa Inbox", "en": "Sapa Inbox"},
    "nav_inbox": {"id": "Percakapan", "en": "Conversations"},
    "nav_orders": {"id": "Pesanan", "en": "Orders"},
    "nav_complaints": {"id": "Keluhan", "en": "Complaints"},
    "nav_agenda": {"id": "Agenda", "en": "Agenda"},
    "nav_dashboard": {"id": "Dasbor", "en": "Dashboard"},
    "nav_canned": {"id": "Balasan cepat", "en": "Canned replies"},
    "nav_users": {"id": "Staf", "en": "Staff"},
    "nav_audit": {"id": "Log audit", "en": "Audit log"},
    "nav_simulator": {"id": "Simulator pelanggan", "en": "Customer simulator"},
    "logout": {"id": "Keluar", "en": "Log out"},
    "language": {"id": "Bahasa", "en": "Language"},
    "save": {"id": "Simpan", "en": "Save"},
    "add": {"id": "Tambah", "en": "Add"},
    "search": {"id": "Cari", "en": "Search"},
    "filter": {"id": "Saring", "en": "Filter"},
    "all": {"id": "Semua", "en": "All"},
    "none": {"id": "Tidak ada", "en": "None"},
    "back": {"id": "Kembali", "en": "Back"},
    "saved": {"id": "Tersimpan.", "en": "Saved."},
    "yes": {"id": "Ya", "en": "Yes"},
    "no": {"id": "Tidak", "en": "No"},
    "live_connected": {"id": "Langsung", "en": "Live"},
    "live_offline": {"id": "Terputus, menyambung lagi…", "en": "Offline, reconnecting…"},
    "new_activity": {"id": "Ada aktivitas baru", "en": "New activity"},
    # login
    "login_title": {"id": "Masuk ke Sapa", "en": "Log in to Sapa"},
    "email": {"id": "Email", "en": "Email"},
    "password": {"id": "Kata sandi", "en": "Password"},
    "login": {"id": "Masuk", "en": "Log in"},
    "login_failed": {"id": "Email atau kata sandi salah.", "en": "Wrong email or password."},
    "login_limited": {"id": "Terlalu banyak percobaan gagal. Coba lagi sebentar lagi.",
                      "en": "Too many failed attempts. Try again in a moment."},
    "logged_out": {"id": "Anda sudah keluar.", "en": "You are logged out."},
    "session_expired": {"id": "Sesi berakhir, silakan masuk lagi.", "en": "Your session ended, please log in again."},
    # errors
    "error_title": {"id": "Ada masalah", "en": "Something went wrong"},
    "forbidden": {"id": "Peran Anda tidak boleh membuka halaman ini.", "en": "Your role may not open this page."},
    "not_found": {"id": "Tidak ditemukan.", "en": "Not found."},
    "csrf_failed": {"id": "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu coba lagi.",
                    "en": "The form expired or is not valid. Reload the page and try again."},
    "bad_request": {"id": "Permintaan tidak valid.", "en": "Invalid request."},
    # conversation list
    "status_open": {"id": "Terbuka", "en": "Open"},
    "status_pending": {"id": "Menunggu", "en": "Pending"},
    "status_snoozed": {"id": "Ditunda", "en": "Snoozed"},
    "status_resolved": {"id": "Selesai", "en": "Resolved"},
    "status_any": {"id": "Semua status", "en": "Any status"},
    "scope_mine": {"id": "Milik saya", "en": "Mine"},
    "scope_unassigned": {"id": "Belum ditugaskan", "en": "Unassigned"},
    "scope_all": {"id": "Semua orang", "en": "Everyone"},
    "unread": {"id": "Belum dibaca", "en": "Unread"},
    "channel": {"id": "Kanal", "en": "Channel"},
    "label": {"id": "Label", "en": "Label"},
    "labels": {"id": "Label", "en": "Labels"},
    "intent": {"id": "Maksud", "en": "Intent"},
    "search_placeholder": {"id": "Nama, isi pesan, no. pesanan, produk…", "en": "Name, message text, order no., product…"},
    "no_conversations": {"id": "Tidak ada percakapan di sini.", "en": "No conversations here."},
    "waiting": {"id": "menunggu {time}", "en": "waiting {time}"},
    "assigned_to": {"id": "Ditangani {name}", "en": "Assigned to {name}"},
    "bot_handles": {"id": "Bot", "en": "Bot"},
    "pick_conversation": {"id": "Pilih percakapan di sebelah kiri.", "en": "Pick a conversation on the left."},
    "more": {"id": "Lebih banyak", "en": "More"},
    # conversation view
    "history": {"id": "Riwayat", "en": "History"},
    "from_bot": {"id": "Bot", "en": "Bot"},
    "from_staff": {"id": "Staf", "en": "Staff"},
    "from_system": {"id": "Sistem", "en": "System"},
    "private_note": {"id": "Catatan pribadi", "en": "Private note"},
    "notes": {"id": "Catatan", "en": "Notes"},
    "add_note": {"id": "Tambah catatan", "en": "Add note"},
    "note_placeholder": {"id": "Hanya terlihat oleh staf", "en": "Only staff can see this"},
    "note_added": {"id": "Catatan disimpan.", "en": "Note saved."},
    "reply": {"id": "Balas", "en": "Reply"},
    "send": {"id": "Kirim", "en": "Send"},
    "reply_placeholder": {"id": "Tulis balasan… ({name} = nama pelanggan)", "en": "Write a reply… ({name} = customer's name)"},
    "canned": {"id": "Balasan cepat", "en": "Canned reply"},
    "quick_replies": {"id": "Tombol balasan (pisahkan dengan koma)", "en": "Quick-reply buttons (comma separated)"},
    "image_url": {"id": "Gambar (URL https)", "en": "Image (https URL)"},
    "location": {"id": "Lokasi", "en": "Location"},
    "location_title": {"id": "Nama tempat", "en": "Place name"},
    "latitude": {"id": "Lintang", "en": "Latitude"},
    "longitude": {"id": "Bujur", "en": "Longitude"},
    "attachments": {"id": "Lampiran", "en": "Attachments"},
    "reply_queued": {"id": "Balasan dikirim ke antrean.", "en": "Reply queued for sending."},
    "assign": {"id": "Tugaskan", "en": "Assign"},
    "unassigned": {"id": "Belum ditugaskan", "en": "Unassigned"},
    "set_labels": {"id": "Label (pisahkan dengan koma)", "en": "Labels (comma separated)"},
    "snooze": {"id": "Tunda", "en": "Snooze"},
    "snooze_hours": {"id": "Tunda (jam)", "en": "Snooze (hours)"},
    "resolve": {"id": "Selesaikan", "en": "Resolve"},
    "reopen": {"id": "Buka lagi", "en": "Reopen"},
    "mark_pending": {"id": "Tandai menunggu", "en": "Mark pending"},
    "take_over": {"id": "Ambil alih dari bot", "en": "Take over from bot"},
    "hand_back": {"id": "Kembalikan ke bot", "en": "Hand back to bot"},
    "bot_on": {"id": "Bot aktif", "en": "Bot active"},
    "bot_off": {"id": "Ditangani staf", "en": "Staff handling"},
    "conversation_updated": {"id": "Percakapan diperbarui.", "en": "Conversation updated."},
    "delivery_queued": {"id": "antre", "en": "queued"},
    "delivery_sending": {"id": "mengirim", "en": "sending"},
    "delivery_sent": {"id": "terkirim", "en": "sent"},
    "delivery_failed": {"id": "gagal", "en": "failed"},
    "delivery_unknown": {"id": "tidak pasti", "en": "unknown"},
    "delivery_received": {"id": "diterima", "en": "received"},
    "event_follow": {"id": "Pelanggan mengikuti akun", "en": "Customer followed the account"},
    "event_unfollow": {"id": "Pelanggan memblokir akun", "en": "Customer blocked the account"},
    "event_join": {"id": "Bot masuk grup", "en": "Bot joined the group"},
    "event_leave": {"id": "Bot keluar dari grup", "en": "Bot left the group"},
    "event_member_joined": {"id": "Anggota bergabung", "en": "Member joined"},
    "event_member_left": {"id": "Anggota keluar", "en": "Member left"},
    "event_postback": {"id": "Menekan tombol", "en": "Pressed a button"},
    "event_unsend": {"id": "Pesan ditarik", "en": "Message unsent"},
    "event_edit": {"id": "Pesan diubah", "en": "Message edited"},
    "sticker": {"id": "Stiker", "en": "Sticker"},
    "image": {"id": "Gambar", "en": "Image"},
    "video": {"id": "Video", "en": "Video"},
    "audio": {"id": "Audio", "en": "Audio"},
    "file": {"id": "Berkas", "en": "File"},
    "open_map": {"id": "Buka peta", "en": "Open map"},
    "hidden_message": {"id": "(ditarik oleh pelanggan)", "en": "(unsent by the customer)"},
    "presence_viewing": {"id": "{name} sedang melihat", "en": "{name} is viewing"},
    "presence_typing": {"id": "{name} sedang mengetik…", "en": "{name} is typing…"},
    "read_only": {"id": "Anda hanya bisa membaca percakapan ini.", "en": "You can only read this conversation."},
    "group_chat": {"id": "Obrolan grup", "en": "Group chat"},
    # 360
    "customer": {"id": "Pelanggan", "en": "Customer"},
    "identities": {"id": "Akun kanal", "en": "Channel accounts"},
    "profile": {"id": "Profil", "en": "Profile"},
    "name": {"id": "Nama", "en": "Name"},
    "phone": {"id": "Telepon", "en": "Phone"},
    "birthday": {"id": "Ulang tahun", "en": "Birthday"},
    "address": {"id": "Alamat", "en": "Address"},
    "tags": {"id": "Tag (pisahkan dengan koma)", "en": "Tags (comma separated)"},
    "custom_fields": {"id": "Kolom khusus", "en": "Custom fields"},
    "field_name": {"id": "Nama kolom", "en": "Field name"},
    "field_value": {"id": "Isi (kosong = hapus)", "en": "Value (empty = remove)"},
    "marketing_consent": {"id": "Setuju menerima promosi", "en": "Consents to marketing"},
    "activity": {"id": "Aktivitas", "en": "Activity"},
    "activity_active_2w": {"id": "Aktif 2 minggu terakhir", "en": "Active in the last 2 weeks"},
    "activity_active_1m": {"id": "Aktif sebulan terakhir", "en": "Active in the last month"},
    "activity_active_6m": {"id": "Aktif 6 bulan terakhir", "en": "Active in the last 6 months"},
    "activity_dormant": {"id": "Tidak aktif", "en": "Dormant"},
    "interests": {"id": "Minat", "en": "Interests"},
    "bought": {"id": "Dibeli", "en": "Bought"},
    "asked_about": {"id": "Ditanyakan", "en": "Asked about"},
    "orders_summary": {"id": "{count} pesanan, total {total}", "en": "{count} orders, {total} in total"},
    "blocked": {"id": "memblokir", "en": "blocked"},
    "contact_saved": {"id": "Data pelanggan disimpan.", "en": "Customer saved."},
    "open_contact": {"id": "Halaman pelanggan", "en": "Customer page"},
    "conversations": {"id": "Percakapan", "en": "Conversations"},
    "language_field": {"id": "Bahasa", "en": "Language"},
    # orders & complaints
    "order": {"id": "Pesanan", "en": "Order"},
    "items": {"id": "Item", "en": "Items"},
    "total": {"id": "Total", "en": "Total"},
    "status": {"id": "Status", "en": "Status"},
    "created": {"id": "Dibuat", "en": "Created"},
    "change_status": {"id": "Ubah status", "en": "Change status"},
    "notify_customer": {"id": "Kabari pelanggan di chat", "en": "Tell the customer in chat"},
    "order_updated": {"id": "Status pesanan diubah; pelanggan dikabari.", "en": "Order status changed; the customer is notified."},
    "complaint": {"id": "Keluhan", "en": "Complaint"},
    "severity": {"id": "Tingkat", "en": "Severity"},
    "sla_due": {"id": "Batas SLA", "en": "SLA due"},
    "sla_breached": {"id": "SLA terlewati", "en": "SLA breached"},
    "sla_left": {"id": "sisa {time}", "en": "{time} left"},
    "breached_only": {"id": "Hanya yang melewati SLA", "en": "Breached only"},
    "complaint_updated": {"id": "Status keluhan diubah; pelanggan dikabari.", "en": "Complaint status changed; the customer is notified."},
    "no_rows": {"id": "Belum ada data.", "en": "Nothing yet."},
    "order_status_new": {"id": "baru", "en": "new"},
    "order_status_confirmed": {"id": "dikonfirmasi", "en": "confirmed"},
    "order_status_preparing": {"id": "disiapkan", "en": "preparing"},
    "order_status_shipped": {"id": "dikirim", "en": "shipped"},
    "order_status_delivered": {"id": "sampai", "en": "delivered"},
    "order_status_cancelled": {"id": "dibatalkan", "en": "cancelled"},
    "complaint_status_open": {"id": "terbuka", "en": "open"},
    "complaint_status_in_progress": {"id": "ditangani", "en": "in progress"},
    "complaint_status_resolved": {"id": "selesai", "en": "resolved"},
    "complaint_status_closed": {"id": "ditutup", "en": "closed"},
    "severity_low": {"id": "rendah", "en": "low"},
    "severity_medium": {"id": "sedang", "en": "medium"},
    "severity_high": {"id": "tinggi", "en": "high"},
    "severity_critical": {"id": "kritis", "en": "critical"},
    # agenda
    "agenda_today": {"id": "Tugas hari ini", "en": "Today's tasks"},
    "agenda_upcoming": {"id": "Berikutnya", "en": "Upcoming"},
    "birthdays_today": {"id": "Ulang tahun hari ini", "en": "Birthdays today"},
    "task": {"id": "Tugas", "en": "Task"},
    "tasks": {"id": "Tugas tindak lanjut", "en": "Follow-up tasks"},
    "due_on": {"id": "Tenggat", "en": "Due"},
    "done": {"id": "Selesai", "en": "Done"},
    "overdue": {"id": "terlambat", "en": "overdue"},
    "new_task": {"id": "Tugas baru", "en": "New task"},
    "task_added": {"id": "Tugas ditambahkan.", "en": "Task added."},
    "task_done": {"id": "Tugas selesai.", "en": "Task done."},
    "auto_task": {"id": "otomatis", "en": "automatic"},
    # dashboard
    "first_response": {"id": "Waktu respons pertama", "en": "First response time"},
    "resolution_time": {"id": "Waktu penyelesaian", "en": "Resolution time"},
    "handoff_rate": {"id": "Tingkat alih ke staf", "en": "Handoff rate"},
    "by_intent": {"id": "Percakapan per maksud", "en": "Conversations by intent"},
    "by_channel": {"id": "Percakapan per kanal", "en": "Conversations by channel"},
    "per_agent": {"id": "Per agen", "en": "Per agent"},
    "messages_per_day": {"id": "Pesan masuk per hari", "en": "Incoming messages per day"},
    "minutes": {"id": "{value} menit", "en": "{value} min"},
    "average": {"id": "rata-rata", "en": "average"},
    "median": {"id": "median", "en": "median"},
    "last_days": {"id": "{days} hari terakhir", "en": "last {days} days"},
    "agent": {"id": "Agen", "en": "Agent"},
    "replies": {"id": "Balasan", "en": "Replies"},
    # admin
    "role": {"id": "Peran", "en": "Role"},
    "role_admin": {"id": "Admin", "en": "Admin"},
    "role_agent": {"id": "Agen", "en": "Agent"},
    "role_marketer": {"id": "Pemasar", "en": "Marketer"},
    "active": {"id": "Aktif", "en": "Active"},
    "notes_access": {"id": "Boleh lihat catatan", "en": "May see notes"},
    "user_added": {"id": "Staf ditambahkan.", "en": "Staff member added."},
    "user_updated": {"id": "Staf diperbarui.", "en": "Staff member updated."},
    "display_name": {"id": "Nama tampilan", "en": "Display name"},
    "shortcut": {"id": "Pintasan", "en": "Shortcut"},
    "title": {"id": "Judul", "en": "Title"},
    "text": {"id": "Teks", "en": "Text"},
    "canned_added": {"id": "Balasan cepat ditambahkan.", "en": "Canned reply added."},
    "canned_help": {"id": "Variabel: {name}, {first_name}, {agent}, {shop}", "en": "Variables: {name}, {first_name}, {agent}, {shop}"},
    "when": {"id": "Kapan", "en": "When"},
    "who": {"id": "Siapa", "en": "Who"},
    "what": {"id": "Apa", "en": "What"},
    "target": {"id": "Objek", "en": "Target"},
    # reasons (InboxError codes)
    "err_text_too_long": {"id": "Teks terlalu panjang (maks. {arg} karakter).", "en": "Text too long (max {arg} characters)."},
    "err_quick_reply_too_long": {"id": "Label tombol maks. {arg} karakter.", "en": "Button labels have at most {arg} characters."},
    "err_too_many_quick_replies": {"id": "Maks. {arg} tombol.", "en": "At most {arg} buttons."},
    "err_image_url_https": {"id": "Gambar harus berupa URL https://.", "en": "The image must be an https:// URL."},
    "err_quick_replies_need_text": {"id": "Tombol balasan perlu teks.", "en": "Quick-reply buttons need a text."},
    "err_empty_reply": {"id": "Balasan kosong.", "en": "The reply is empty."},
    "err_bot_left_group": {"id": "Bot sudah keluar dari grup ini.", "en": "The bot has left this group."},
    "err_assignee_not_agent": {"id": "Hanya admin atau agen aktif yang bisa ditugaskan.", "en": "Only active admins or agents can be assigned."},
    "err_bad_label": {"id": "Label tidak valid (maks. 40 huruf, angka, spasi, . : / & + -).", "en": "Invalid label (max 40 letters, digits, spaces, . : / & + -)."},
    "err_too_many_labels": {"id": "Maks. 20 label.", "en": "At most 20 labels."},
    "err_bad_status": {"id": "Status tidak dikenal.", "en": "Unknown status."},
    "err_snooze_in_future": {"id": "Waktu tunda harus di masa depan.", "en": "Snooze until a time in the future."},
    "err_empty_note": {"id": "Catatan kosong.", "en": "The note is empty."},
    "err_field_too_long": {"id": "Isian {arg} terlalu panjang.", "en": "{arg} is too long."},
    "err_bad_email": {"id": "Email tidak valid.", "en": "Invalid email."},
    "err_bad_phone": {"id": "Nomor telepon tidak valid.", "en": "Invalid phone number."},
    "err_bad_birthday": {"id": "Tanggal lahir tidak valid.", "en": "Invalid birthday."},
    "err_bad_tags": {"id": "Tag tidak valid (maks. 50 karakter).", "en": "Invalid tags (max 50 characters)."},
    "err_bad_field_name": {"id": "Nama kolom tidak valid.", "en": "Invalid field name."},
    "err_bad_task_title": {"id": "Judul tugas wajib (maks. 300 karakter).", "en": "A task needs a title (max 300 characters)."},
    "err_unknown_contact": {"id": "Pelanggan tidak ditemukan.", "en": "Unknown customer."},
    "err_bad_date": {"id": "Tanggal tidak valid.", "en": "Invalid date."},
    "err_bad_number": {"id": "Angka tidak valid.", "en": "Invalid number."},
    "err_order": {"id": "Pesanan tidak bisa diubah: {arg}", "en": "The order cannot change: {arg}"},
    "err_bad_shortcut": {"id": "Pintasan: huruf kecil, angka, _ atau - (maks. 40).", "en": "Shortcut: lower-case letters, digits, _ or - (max 40)."},
    "err_bad_canned": {"id": "Judul dan teks wajib.", "en": "Title and text are required."},
    "err_shortcut_exists": {"id": "Pintasan sudah dipakai.", "en": "That shortcut exists already."},
    "err_staff": {"id": "Staf tidak bisa dibuat: {arg}", "en": "Cannot create the staff member: {arg}"},
    "err_bad_location": {"id": "Lokasi perlu nama, lintang (-90..90) dan bujur (-180..180).", "en": "A location needs a name, latitude (-90..90) and longitude (-180..180)."},
    "err_last_admin": {"id": "Harus ada minimal satu admin aktif.", "en": "There must be at least one active admin."},
}


def register(entries: dict[str, dict[str, str]]) -> None:
    """Add keys for another staff blueprint (each with an `id` and an `en` text)."""
    for key, texts in entries.items():
        missing = set(LANGUAGES) - set(texts)
        if missing:
            raise ValueError(f"{key}: missing languages {missing}")
        CATALOG[key] = texts


def current_language() -> str:
    """The language of this request's staff member (Indonesian by default)."""
    if not has_request_context():
        return DEFAULT
    staff = g.get("staff")
    if staff is not None and staff.language in LANGUAGES:
        return staff.language
    cookie = request.cookies.get("lang")
    return cookie if cookie in LANGUAGES else DEFAULT


def t(key: str, language: str | None = None, **values) -> str:
    """The text for `key` in `language` (default: the current one), values filled in; the key if unknown."""
    entry = CATALOG.get(key)
    if entry is None:
        return key
    words = entry.get(language or current_language()) or entry[DEFAULT]
    return words.format(**values) if values else words


def error_text(code: str) -> str:
    """The agent-facing text of an InboxError code like `text_too_long:5000`."""
    name, _, arg = code.partition(":")
    return t(f"err_{name}", arg=arg) if f"err_{name}" in CATALOG else code
