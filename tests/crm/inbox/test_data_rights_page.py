"""A customer's data rights in the inbox: the consent log on the panel, the zip export and the erasure (admins only)."""

from __future__ import annotations

import io
import json
import zipfile

from sqlmodel import select

from crm.data_rights import ERASED_NAME
from crm.models import AuditLog, ChannelIdentity, ConsentChange, Contact
from tests.crm.inbox.conftest import LINE_USER
from tests.factories import line_text


def test_the_consent_log_shows_chat_stop_and_the_staff_toggle_latest_first(as_role, line_chat, webhooks, session,
                                                                            staff):
    _, contact_id = line_chat
    assert webhooks.line(line_text("stop", user=LINE_USER)).status_code == 200
    agent = as_role("agent")
    agent.post(f"/inbox/contacts/{contact_id}", {"marketing_consent": "0"})
    agent.post(f"/inbox/contacts/{contact_id}", {"marketing_consent": "0"})  # unchanged: no second row
    rows = session.exec(select(ConsentChange).order_by(ConsentChange.id)).all()
    assert [(r.opt_in, r.source, r.channel, r.staff_user_id) for r in rows] == [
        (False, "chat", "line", None), (False, "staff", None, staff["agent"])]
    page = agent.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    log = page[page.index('class="plain consent-log"'):]
    log = log[:log.index("</ul>")]
    assert log.index("oleh staf (Agent Test)") < log.index("lewat chat") and "semua channel" in log


def test_admins_see_the_data_rights_and_others_cannot_use_them(as_role, line_chat, session):
    _, contact_id = line_chat
    admin, agent, marketer = as_role("admin"), as_role("agent"), as_role("marketer")
    page = admin.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    assert 'id="contact-export"' in page and 'id="erase-form"' in page
    for other in (agent, marketer):
        assert 'id="data-rights"' not in other.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
        assert other.get(f"/inbox/contacts/{contact_id}/export.zip").status_code == 403
        assert other.post(f"/inbox/contacts/{contact_id}/erase", {"confirm": "1"}).status_code == 403
    assert session.get(Contact, contact_id).erased_at is None


def test_the_export_is_a_zip_and_is_audited(as_role, line_chat, session):
    _, contact_id = line_chat
    response = as_role("admin").get(f"/inbox/contacts/{contact_id}/export.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        contact = json.loads(archive.read("contact.json"))["contact"]
        assert contact["display_name"] == "Putri Customer"
        assert "halo kak, mau tanya" in archive.read("messages.csv").decode()
    audit = session.exec(select(AuditLog).where(AuditLog.action == "contact.export")).one()
    assert audit.target_id == contact_id
    assert as_role("admin").get("/inbox/contacts/999999/export.zip").status_code == 404


def test_erasing_needs_the_confirmation_then_anonymises(as_role, line_chat, session, staff):
    _, contact_id = line_chat
    admin = as_role("admin")
    refused = admin.post(f"/inbox/contacts/{contact_id}/erase", {})
    assert refused.status_code == 400 and "Centang konfirmasinya dulu" in refused.get_data(as_text=True)
    assert session.get(Contact, contact_id).erased_at is None
    done = admin.post(f"/inbox/contacts/{contact_id}/erase", {"confirm": "1"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "Data pribadi pelanggan sudah dihapus." in page and 'id="erase-form"' not in page
    session.expire_all()
    contact = session.get(Contact, contact_id)
    assert contact.display_name == ERASED_NAME and contact.erased_at is not None
    assert session.exec(select(ChannelIdentity)).all() == []
    audit = session.exec(select(AuditLog).where(AuditLog.action == "contact.erase")).one()
    assert (audit.staff_user_id, audit.target_id) == (staff["admin"], contact_id)
    assert admin.post("/inbox/contacts/999999/erase", {"confirm": "1"}).status_code == 404
