"""Contact import and export: messy real-world files, merging only on proof or the shop's keys, idempotent reruns."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import Session, select

from core.db import get_engine, session_scope
from crm.contact_export import export_table, write_export
from crm.contact_import import ImportFileError, import_contacts
from crm.contacts import get_or_create_identity
from crm.models import ChannelIdentity, Contact


@pytest.fixture
def engine(database_url):
    return get_engine(database_url)


def write_csv(path: Path, text: str, bom: bool = False) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def contacts(engine) -> list[Contact]:
    with Session(engine) as session:
        return list(session.exec(select(Contact).order_by(Contact.id)).all())


def report(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_messy_csv_with_bom_semicolons_and_every_phone_and_date_form(engine, tmp_path):
    source = write_csv(tmp_path / "pelanggan.csv", bom=True, text=(
        "Name;Phone;Email;Birthday;Tags;custom.kota\r\n"
        "Budi Santoso;0812-3456-7890;Budi@Example.com;31/12/1990;vip, kopi;Jakarta\r\n"
        "Ani;+62 813 1111 2222;;1995-02-03;;Bandung\r\n"
        "Citra;6281311113333;;32874;baru;\r\n"
        "Budi Santoso;+6281234567890;;;kopi;\r\n"  # the same customer again: nothing new
        "'=Dewi;;dewi@example.com;;;\r\n"  # the formula-safe prefix of an export
        "\r\n"
    ))
    result = import_contacts(engine=engine, path=source)
    assert (result.created, result.merged, result.unchanged, result.rejected) == (4, 0, 1, 0)
    rows = {c.display_name: c for c in contacts(engine)}
    assert set(rows) == {"Budi Santoso", "Ani", "Citra", "=Dewi"}
    budi = rows["Budi Santoso"]
    assert (budi.phone, budi.email, budi.birthday, budi.tags, budi.attributes) == (
        "+6281234567890", "budi@example.com", date(1990, 12, 31), ["vip", "kopi"], {"kota": "Jakarta"})
    assert rows["Ani"].phone == "+6281311112222" and rows["Ani"].birthday == date(1995, 2, 3)
    assert rows["Citra"].phone == "+6281311113333" and rows["Citra"].birthday == date(1990, 1, 1)  # Excel serial
    assert report(tmp_path / "pelanggan.rejected.csv") == []


def test_ten_bad_rows_among_a_thousand_are_rejected_with_column_and_reason(engine, tmp_path):
    lines = ["name,phone,email"]
    bad = {17: ",081234500017,", 101: "Eko,12345,", 250: "Fajar,,fajar@", 333: "Gita,abc,", 404: "   ,,x@y.id",
           500: "Hadi,,hadi at mail", 611: "Indah,0812,", 702: "Joko,,@example.com", 888: ",,", 999: "Kiki,+1 555,"}
    for i in range(1000):
        lines.append(bad.get(i, f"Customer {i},0812{i:08d},c{i}@example.com"))
    source = write_csv(tmp_path / "big.csv", "\n".join(lines) + "\n")
    result = import_contacts(engine=engine, path=source)
    # Row 888 is blank (only separators): a blank line is skipped, not rejected.
    assert (result.created, result.merged, result.unchanged, result.rejected) == (990, 0, 0, 9)
    rejected = {int(row["row"]): (row["column"], row["reason"]) for row in report(tmp_path / "big.rejected.csv")}
    assert rejected[19] == ("name", "no name")  # line 19 of the file is data row 17
    assert rejected[103] == ("phone", "not a valid phone number: '12345'")
    assert rejected[252][0] == "email" and rejected[502][0] == "email" and rejected[704][0] == "email"
    assert rejected[406] == ("name", "no name")
    assert {rejected[335][0], rejected[613][0], rejected[1001][0]} == {"phone"}
    assert len(contacts(engine)) == 990


def test_the_same_file_twice_creates_nothing_even_with_disagreeing_duplicates(engine, tmp_path):
    source = write_csv(tmp_path / "dup.csv", (
        "name,phone,tags\n"
        "Budi,081234567890,a\n"
        "Budi Santoso,+6281234567890,b\n"  # same phone, another name: the later row wins
        "Tanpa Kontak,,\n"  # no phone, email or chat id: found again through the import's own record
    ))
    first = import_contacts(engine=engine, path=source)
    assert (first.created, first.merged, first.unchanged) == (2, 1, 0)
    again = import_contacts(engine=engine, path=source)
    assert (again.created, again.merged, again.unchanged, again.rejected) == (0, 0, 3, 0)
    rows = contacts(engine)
    assert [(c.display_name, c.tags) for c in rows] == [("Budi Santoso", ["a", "b"]), ("Tanpa Kontak", [])]


def test_a_dry_run_plans_the_same_and_writes_nothing_but_the_report(engine, tmp_path):
    source = write_csv(tmp_path / "dry.csv", "name,phone\nBudi,0812345678901\nBudi,0812345678901\n,08123\n")
    planned = import_contacts(engine=engine, path=source, dry_run=True)
    assert planned.line() == "created 1, merged 0, unchanged 1, rejected 1"
    assert contacts(engine) == []
    assert [row["column"] for row in report(tmp_path / "dry.rejected.csv")] == ["name"]
    assert import_contacts(engine=engine, path=source).line() == planned.line()


def test_xlsx_with_date_cells_serials_and_numeric_phones(engine, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Nama", "HP", "Lahir", "LINE", "Telegram", "Poin"])
    sheet.append(["Budi", 6281234567890, datetime(1990, 5, 17), "U" + "a" * 32, None, 120])
    sheet.append(["Ani", 81311112222, 32874, None, 123456789, 5])
    sheet.append(["Citra", "0813 1111 3333", "17/08/1945", None, "bukan angka", None])
    sheet.append([None, 628123, None, None, None, None])
    path = tmp_path / "pelanggan.xlsx"
    book.save(path)
    overrides = {"Nama": "name", "HP": "phone", "Lahir": "birthday", "LINE": "line_user_id",
                 "Telegram": "telegram_chat_id", "Poin": "custom.poin"}
    result = import_contacts(engine=engine, path=path, overrides=overrides)
    assert (result.created, result.rejected) == (2, 2)
    rows = {c.display_name: c for c in contacts(engine)}
    assert rows["Budi"].phone == "+6281234567890" and rows["Budi"].birthday == date(1990, 5, 17)
    assert rows["Budi"].attributes == {"poin": 120}
    assert rows["Ani"].phone == "+6281311112222" and rows["Ani"].birthday == date(1990, 1, 1)
    with Session(engine) as session:
        ids = {(i.channel, i.external_id) for i in session.exec(select(ChannelIdentity)).all()}
    assert ids == {("line", "U" + "a" * 32), ("telegram", "123456789")}
    rejected = {row["row"]: row["column"] for row in report(tmp_path / "pelanggan.rejected.csv")}
    assert rejected == {"4": "Telegram", "5": "Nama"}


def test_a_chat_id_already_known_is_proof_a_phone_never_moves_an_identity(engine, tmp_path):
    with session_scope(engine) as session:
        chatting, _ = get_or_create_identity(session=session, channel="telegram", external_id="777", display_name="ani")
        other, _ = get_or_create_identity(session=session, channel="line", external_id="Uold", display_name="budi")
        session.get(Contact, other.contact_id).phone = "+6281234567890"
        chatting_id, other_id = chatting.contact_id, other.contact_id
    source = write_csv(tmp_path / "ids.csv", (
        "name,phone,telegram_chat_id,line_user_id\n"
        "Ani Wijaya,081311112222,777,\n"  # the Telegram account is hers: merged into its contact
        "Budi,081234567890,,Unew\n"  # his phone's contact already has another LINE account: refused
        "Citra,081399998888,,Ucitra\n"  # new customer with a known LINE id: the identity comes with her
    ))
    result = import_contacts(engine=engine, path=source)
    assert (result.created, result.merged, result.rejected) == (1, 1, 1)
    with Session(engine) as session:
        assert session.get(Contact, chatting_id).display_name == "Ani Wijaya"
        assert session.get(Contact, chatting_id).phone == "+6281311112222"
        owners = {i.external_id: i.contact_id for i in session.exec(select(ChannelIdentity)).all()}
    assert owners["777"] == chatting_id and owners["Uold"] == other_id and "Unew" not in owners
    assert owners["Ucitra"] not in (chatting_id, other_id)
    assert report(tmp_path / "ids.rejected.csv")[0]["column"] == "line_user_id"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_an_export_imports_again_unchanged(engine, tmp_path, suffix):
    source = write_csv(tmp_path / "in.csv", (
        "name,phone,email,birthday,tags,custom.kota,line_user_id\n"
        "=HYPERLINK(\"x\"),081234567890,a@example.com,01/02/1990,\"vip, -diskon\",+Jakarta,U1\n"
        "Ani,,,,,,\n"
        "@Citra,081311112222,,,,,\n"
    ))
    assert import_contacts(engine=engine, path=source).created == 3
    exported = tmp_path / f"out{suffix}"
    with Session(engine) as session:
        header, rows = export_table(session=session)
        assert write_export(exported, header, rows) == 3
    again = import_contacts(engine=engine, path=exported)
    assert again.line() == "created 0, merged 0, unchanged 3, rejected 0"
    assert [c.display_name for c in contacts(engine)] == ['=HYPERLINK("x")', "Ani", "@Citra"]


def test_an_interrupted_import_continues_where_it_stopped(engine, tmp_path):
    source = write_csv(tmp_path / "long.csv", "name,phone\n" + "".join(
        f"Customer {i},0812{i:08d}\n" for i in range(2500)))

    def stop_at_2000(done: int, total: int) -> None:
        if done == 2000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_contacts(engine=engine, path=source, progress=stop_at_2000, batch=500)
    assert len(contacts(engine)) == 2000  # four batches committed
    resumed = import_contacts(engine=engine, path=source, batch=500)
    assert resumed.line() == "created 2500, merged 0, unchanged 0, rejected 0"
    assert len(contacts(engine)) == 2500
    assert import_contacts(engine=engine, path=source).line() == "created 0, merged 0, unchanged 2500, rejected 0"


def test_a_mapping_that_names_an_unknown_column_or_field_is_refused(engine, tmp_path):
    source = write_csv(tmp_path / "m.csv", "Nama,HP\nBudi,081234567890\n")
    with pytest.raises(ImportFileError, match="no column 'Telepon'"):
        import_contacts(engine=engine, path=source, overrides={"Telepon": "phone"})
    with pytest.raises(ImportFileError, match="unknown field 'hp'"):
        import_contacts(engine=engine, path=source, overrides={"HP": "hp"})
    assert contacts(engine) == []
