"""API tokens on the admin's Staff page: listed, revoked with a button, audited; 401 at once."""

from __future__ import annotations

from sqlmodel import select

from core.db import session_scope
from crm.models import ApiToken, AuditLog
from crm.tokens import create_token


def test_the_admin_sees_the_tokens_and_revokes_one(as_role, client, runtime, session, staff):
    with session_scope(runtime.engine) as s:
        live, other = create_token(session=s, name="pos-system"), create_token(session=s, name="sheet")
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {live}"}).status_code == 200
    admin = as_role("admin")
    page = admin.get("/inbox/users").get_data(as_text=True)
    assert "pos-system" in page and "sheet" in page and "/inbox/tokens/1/revoke" in page
    assert admin.post("/inbox/tokens/1/revoke").status_code == 303
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {live}"}).status_code == 401
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    page = admin.get("/inbox/users").get_data(as_text=True)
    assert "/inbox/tokens/1/revoke" not in page and "/inbox/tokens/2/revoke" in page
    entry = session.exec(select(AuditLog).where(AuditLog.action == "token.revoke")).one()
    assert (entry.staff_user_id, entry.target_id, entry.details) == (staff["admin"], 1, {"name": "pos-system"})
    assert admin.post("/inbox/tokens/99/revoke").status_code == 404


def test_only_admins_revoke_and_only_with_a_csrf_token(as_role, runtime, session):
    with session_scope(runtime.engine) as s:
        create_token(session=s, name="pos-system")
    assert as_role("agent").post("/inbox/tokens/1/revoke").status_code == 403
    assert as_role("marketer").post("/inbox/tokens/1/revoke").status_code == 403
    assert as_role("admin").client.post("/inbox/tokens/1/revoke").status_code == 400  # no CSRF token
    assert session.exec(select(ApiToken)).one().revoked is False
