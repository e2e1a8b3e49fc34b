"""The contacts list, its export, and the import screen: upload, mapping, dry run, import as a task, progress, report."""

from __future__ import annotations

import csv
import io
import json
import re
import time

from openpyxl import Workbook, load_workbook
from sqlmodel import select

from core.db import session_scope
from crm import contact_uploads
from crm.models import AuditLog, Contact, ContactImport


def people_csv(rows: int = 50, bad: tuple[int, ...] = (10, 20, 30)) -> bytes:
    """`rows` customers (Nama, HP, Surel, Kota) in a CSV; the rows at the indexes in `bad` are invalid."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Nama", "HP", "Surel", "Kota"])
    for i in range(rows):
        phone = f"0812{i:08d}"
        if i == bad[0]:
            phone = "12ab"  # not a phone
        writer.writerow(["" if i == bad[1] else f"Pelanggan {i}", phone,
                         "tanpa-at" if i == bad[2] else f"p{i}@contoh.id", "Bandung"])
    return out.getvalue().encode()


MAPPING = {"map_0": "name", "map_1": "phone", "map_2": "email", "map_3": "custom", "custom_3": "kota"}


def upload(client, data: bytes, name: str = "pelanggan.csv"):
    return client.post("/inbox/contacts/import", {"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def token_of(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return re.search(r"/contacts/import/([0-9a-f]{32})", response.headers["Location"]).group(1)


def test_a_bad_file_is_refused_with_a_plain_reason_and_nothing_kept(as_role, settings):
    admin = as_role("admin")
    root = contact_uploads.imports_dir(settings.media_dir)
    for data, name, words in ((b"name,phone\nA,1\n", "people.pdf", "Hanya file CSV atau XLSX"),
                              (b"", "empty.csv", "File kosong"),
                              (b"\x89PNG\x00\x00\x00binary", "photo.csv", "bukan CSV"),
                              (b"not a zip at all", "book.xlsx", "tidak bisa dibaca"),
                              (b"phone,Phone\n1,2\n", "twice.csv", "judul yang sama (phone)"),
                              (b"x" * (contact_uploads.MAX_BYTES + 1), "big.csv", "terlalu besar")):
        refused = upload(admin, data, name)
        assert refused.status_code == 400 and words in refused.get_data(as_text=True), name
    nothing = admin.post("/inbox/contacts/import", {}, content_type="multipart/form-data")
    assert nothing.status_code == 400 and "Pilih file" in nothing.get_data(as_text=True)
    assert not root.exists() or not any(root.iterdir())
    assert admin.get("/inbox/contacts/import/" + "0" * 32).status_code == 404
    assert admin.get("/inbox/contacts/import/../../etc").status_code == 404


def test_the_mapping_step_preselects_by_header_and_shows_sample_values(as_role):
    admin = as_role("admin")
    data = b"\xef\xbb\xbfname;Phone;tags;custom.kota;Catatan\nSari;0812 3456 7890;vip;Bandung;suka kopi\n"
    page = admin.get(f"/inbox/contacts/import/{token_of(upload(admin, data))}").get_data(as_text=True)
    for column, field in (("0", "name"), ("1", "phone"), ("2", "tags"), ("3", "custom")):
        assert re.search(rf'name="map_{column}".*?<option value="{field}" selected>', page, re.S), column
    assert 'name="custom_3" value="kota"' in page
    assert not re.search(r'name="map_4".*?selected>.*?</select>', page, re.S)  # Catatan: skipped
    assert "0812 3456 7890" in page and "suka kopi" in page


def test_the_dry_run_counts_and_names_the_rejected_rows_and_writes_nothing(as_role, session):
    with session_scope(session.get_bind()) as s:
        s.add(Contact(display_name="Lama", phone="+6281200000001"))  # row 3's phone: merged
    admin = as_role("admin")
    token = token_of(upload(admin, people_csv()))
    page = admin.post(f"/inbox/contacts/import/{token}/dry-run", MAPPING)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    counts = {k: re.search(rf'id="count-{k}">(\d+)<', text).group(1) for k in ("created", "merged", "rejected")}
    assert counts == {"created": "46", "merged": "1", "rejected": "3"}
    assert "nomor HP tidak valid: &#39;12ab&#39;" in text and "tidak ada nama" in text
    assert "alamat email tidak valid" in text and 'id="start-import"' in text
    assert session.exec(select(Contact)).all()[0].display_name == "Lama" and len(session.exec(select(Contact)).all()) == 1
    assert session.exec(select(ContactImport)).all() == []
    report = admin.get(f"/inbox/contacts/import/{token}/report")
    rows = list(csv.reader(io.StringIO(report.get_data(as_text=True).lstrip("\ufeff"))))
    assert report.status_code == 200 and [r[:2] for r in rows[1:]] == [["12", "HP"], ["22", "Nama"], ["32", "Surel"]]


def test_bad_mappings_re_show_the_form_with_the_typed_values(as_role):
    admin = as_role("admin")
    token = token_of(upload(admin, people_csv()))
    for form, words in (({**MAPPING, "map_0": ""}, "Pilih kolom yang berisi nama"),
                        ({**MAPPING, "custom_3": "kota asal!"}, "nama kolom khusus hanya boleh"),
                        ({**MAPPING, "map_2": "phone"}, "Lebih dari satu kolom"),
                        ({**MAPPING, "map_1": "password"}, "Isian tidak dikenal")):
        refused = admin.post(f"/inbox/contacts/import/{token}/dry-run", form)
        text = refused.get_data(as_text=True)
        assert refused.status_code == 400 and words in text, form
        assert f'value="{form["custom_3"]}"' in text
    assert admin.post(f"/inbox/contacts/import/{token}/start").status_code == 303  # never dry-run: not started
    assert contact_uploads.read_state(contact_uploads.open_upload(
        root=contact_uploads.imports_dir(admin.client.application.config["SAPA"].media_dir), token=token)
    ).get("status") == "uploaded"


def test_the_import_runs_as_a_task_reports_progress_and_a_second_run_creates_nothing(as_role, session):
    admin = as_role("admin")
    token = token_of(upload(admin, people_csv()))
    admin.post(f"/inbox/contacts/import/{token}/dry-run", MAPPING)
    started = admin.post(f"/inbox/contacts/import/{token}/start")  # the test queue runs the task inline
    assert started.status_code == 303 and started.headers["Location"].endswith("#progress")
    progress = admin.get(f"/inbox/contacts/import/{token}/progress").get_json()
    assert progress["status"] == "done" and progress["percent"] == 100
    assert progress["result"] == {"created": 47, "merged": 0, "unchanged": 0, "rejected": 3}
    assert progress["summary"] == "Selesai: dibuat 47, digabung 0, tidak berubah 0, ditolak 3"
    assert progress["report"].endswith(f"/contacts/import/{token}/report")
    contacts = session.exec(select(Contact).order_by(Contact.id)).all()
    assert len(contacts) == 47 and contacts[0].attributes == {"kota": "Bandung"}
    page = admin.get(f"/inbox/contacts/import/{token}").get_data(as_text=True)
    assert "dibuat 47" in page and 'value="100"' in page
    actions = [row.action for row in session.exec(select(AuditLog).order_by(AuditLog.id)).all()]
    assert actions[-2:] == ["contacts.import_upload", "contacts.import_start"]

    again = token_of(upload(admin, people_csv(), "lagi.csv"))  # the same file, uploaded again
    admin.post(f"/inbox/contacts/import/{again}/dry-run", MAPPING)
    admin.post(f"/inbox/contacts/import/{again}/start")
    assert admin.get(f"/inbox/contacts/import/{again}/progress").get_json()["result"] == \
        {"created": 0, "merged": 0, "unchanged": 47, "rejected": 3}
    assert len(session.exec(select(Contact)).all()) == 47


def test_a_stalled_import_offers_to_continue_and_continuing_finishes_it(as_role, settings, session):
    admin = as_role("admin")
    token = token_of(upload(admin, people_csv(bad=(-1, -1, -1))))
    admin.post(f"/inbox/contacts/import/{token}/dry-run", MAPPING)
    root = contact_uploads.imports_dir(settings.media_dir)
    item = contact_uploads.open_upload(root=root, token=token)
    contact_uploads.write_state(item, status="running", done=20, total=50)
    state = json.loads(item.state_path.read_text())
    item.state_path.write_text(json.dumps({**state, "updated_at": time.time() - 3600}))  # its worker died an hour ago
    assert admin.get(f"/inbox/contacts/import/{token}/progress").get_json()["status"] == "stalled"
    page = admin.get(f"/inbox/contacts/import/{token}").get_data(as_text=True)
    assert re.search(r'id="import-continue"\s*>', page)  # shown
    admin.post(f"/inbox/contacts/import/{token}/start")
    assert admin.get(f"/inbox/contacts/import/{token}/progress").get_json()["result"]["created"] == 50


def test_a_running_import_is_not_started_twice(as_role, settings):
    admin = as_role("admin")
    token = token_of(upload(admin, people_csv()))
    admin.post(f"/inbox/contacts/import/{token}/dry-run", MAPPING)
    item = contact_uploads.open_upload(root=contact_uploads.imports_dir(settings.media_dir), token=token)
    contact_uploads.write_state(item, status="running", done=10, total=50)
    refused = admin.post(f"/inbox/contacts/import/{token}/start", follow_redirects=True)
    assert "sedang berjalan" in refused.get_data(as_text=True)
    assert contact_uploads.read_state(item)["done"] == 10


def test_the_contacts_list_searches_and_exports_the_search_or_all_as_csv_or_xlsx(as_role, session):
    with session_scope(session.get_bind()) as s:
        s.add(Contact(display_name="Budi Santoso", phone="+6281211112222", tags=["vip"]))
        s.add(Contact(display_name="=HYPERLINK(\"x\")", email="ani@contoh.id"))
    admin = as_role("admin")
    page = admin.get("/inbox/contacts?q=budi").get_data(as_text=True)
    assert "Budi Santoso" in page and "HYPERLINK" not in page and 'href="/inbox/contacts/export?q=budi&amp;format=xlsx"' in page
    exported = admin.get("/inbox/contacts/export?q=budi&format=csv")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert exported.headers["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    assert [row[:2] for row in rows[1:]] == [["Budi Santoso", "'+6281211112222"]]  # formula-safe
    book = load_workbook(io.BytesIO(admin.get("/inbox/contacts/export?format=xlsx").data))
    names = sorted(row[0] for row in book.active.iter_rows(min_row=2, values_only=True))
    assert names == ["'=HYPERLINK(\"x\")", "Budi Santoso"]  # formula-safe
    assert session.exec(select(AuditLog).where(AuditLog.action == "contacts.export")).all()


def test_only_admins_import_and_export_but_everyone_sees_the_list(as_role):
    admin = as_role("admin")
    token = token_of(upload(admin, people_csv()))
    for role in ("agent", "marketer"):
        other = as_role(role)
        assert other.get("/inbox/contacts").status_code == 200
        assert "import-link" not in other.get("/inbox/contacts").get_data(as_text=True)
        assert other.get("/inbox/contacts/export").status_code == 403
        assert other.get("/inbox/contacts/import").status_code == 403
        assert upload(other, people_csv()).status_code == 403
        for path in ("", "/progress", "/report"):
            assert other.get(f"/inbox/contacts/import/{token}{path}").status_code == 403
        for path in ("/dry-run", "/start"):
            assert other.post(f"/inbox/contacts/import/{token}{path}", MAPPING).status_code == 403


def test_the_import_needs_the_csrf_token(as_role):
    admin = as_role("admin")
    response = admin.client.post("/inbox/contacts/import", data={"file": (io.BytesIO(people_csv()), "a.csv")},
                                 content_type="multipart/form-data")
    assert response.status_code == 400


def test_an_xlsx_file_imports_like_a_csv(as_role, session):
    book = Workbook()
    book.active.append(["name", "phone", "birthday"])
    book.active.append(["Wati", "+62 812 9999 0000", "17/08/1990"])
    data = io.BytesIO()
    book.save(data)
    admin = as_role("admin")
    token = token_of(upload(admin, data.getvalue(), "pelanggan.xlsx"))
    admin.post(f"/inbox/contacts/import/{token}/dry-run", {"map_0": "name", "map_1": "phone", "map_2": "birthday"})
    admin.post(f"/inbox/contacts/import/{token}/start")
    [wati] = session.exec(select(Contact)).all()
    assert (wati.display_name, wati.phone, str(wati.birthday)) == ("Wati", "+6281299990000", "1990-08-17")



def test_a_file_over_the_request_limit_gets_the_import_page_with_the_reason(as_role):
    admin = as_role("admin")
    refused = upload(admin, b"x" * 10_500_000, "huge.csv")
    assert refused.status_code == 413 and "terlalu besar (maksimal 8 MB)" in refused.get_data(as_text=True)
    assert 'id="import-upload"' in refused.get_data(as_text=True)
