"""`sapa segments|campaigns|journeys` against a fresh database and the fakes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.runtime import build_runtime
from core.runtime import Runtime, set_runtime
from core.settings import get_settings
from sqlalchemy import update

from broadcasts.models import Campaign
from core.db import session_scope
from tests.broadcasts.helpers import seed
from tests.factories import LINE_SECRET


@pytest.fixture
def sapa(sqlite_url, fake_line, monkeypatch):
    """Run `sapa …` with LINE pointed at the fake; returns (exit_code, output)."""
    monkeypatch.setenv("SAPA_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SAPA_LINE__CHANNEL_SECRET", LINE_SECRET)
    monkeypatch.setenv("SAPA_LINE__ACCESS_TOKEN", fake_line.access_token)
    monkeypatch.setenv("SAPA_LINE__API_BASE", fake_line.url)
    get_settings.cache_clear()
    rt = build_runtime(get_settings())
    previous = set_runtime(rt)
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    yield run, rt
    set_runtime(previous)
    rt.close()
    get_settings.cache_clear()


def test_preview_create_run_show_export(sapa, fake_line, tmp_path):
    run, rt = sapa
    seed(rt.engine, line=3, tags=["vip"])
    seed(rt.engine, line=2, start=10)
    rules = json.dumps({"field": "tag", "op": "has", "value": "vip"})
    code, out = run("segments", "preview", rules)
    assert code == 0 and "3 contacts match" in out and "sapa segments create" in out
    code, out = run("segments", "preview", '{"field": "tag", "op": "gt", "value": 1}')
    assert code == 1 and "rules.op" in out
    code, out = run("segments", "create", "VIP", rules)
    assert code == 0 and "segment 1 saved (3 contacts now)" in out
    code, out = run("campaigns", "create", "--name", "VIP promo", "--text", "Halo VIP!", "--segment", "1", "--draft")
    assert code == 0 and "draft" in out
    code, out = run("campaigns", "run", "1")
    assert code == 1 and "not due" in out
    code, out = run("campaigns", "resume", "1")  # queued (the test queue runs it at once)
    assert code == 0 and "campaign 1 is" in out
    assert len(fake_line.deliveries_per_user()) == 3
    # the foreground runner, for a campaign that is due
    code, out = run("campaigns", "create", "--name", "again", "--text", "Lagi!", "--draft")
    with session_scope(rt.engine) as session:
        session.execute(update(Campaign).where(Campaign.id == 2).values(status="sending"))
    code, out = run("campaigns", "run", "2")
    assert code == 0 and "5 deliveries" in out and "sapa campaigns show 2" in out
    assert len(fake_line.deliveries_per_user()) == 5
    code, out = run("campaigns", "show", "1")
    assert code == 0 and "done" in out and "sent" in out
    code, out = run("campaigns", "list")
    assert "sent 3/3" in out and "sent 5/5" in out
    target = tmp_path / "out.csv"
    code, out = run("campaigns", "export", "1", "-o", str(target))
    assert code == 0 and "3 deliveries written" in out and target.read_text().count("\n") == 4
    code, out = run("campaigns", "cancel", "1")
    assert code == 1 and "already done" in out


def test_schedule_and_journeys(sapa):
    run, _rt = sapa
    code, out = run("campaigns", "create", "--name", "Jumat", "--text", "Jumat!", "--cron", "0 10 * * fri")
    assert code == 0 and "scheduled" in out and "sapa clock" in out
    code, out = run("campaigns", "create", "--name", "x", "--text", "x", "--cron", "sometimes")
    assert code == 1 and "recurrence" in out
    code, out = run("campaigns", "pause", "1")
    assert code == 0 and "paused" in out
    code, out = run("journeys", "list")
    assert code == 0 and "birthday" in out and "welcome" in out
    code, out = run("journeys", "enable", "winback", "--text", "Kangen {first_name}!")
    assert code == 0 and "on" in out
    code, out = run("journeys", "enable", "nope")
    assert code == 1 and "unknown journey" in out


def test_ab_winner_from_the_command_line(sapa, fake_line):
    run, rt = sapa
    from tests.broadcasts.helpers import make_campaign, run_to_end, statuses

    seed(rt.engine, line=100)
    campaign_id = make_campaign(rt, message=None, ab_test={"test_percent": 20}, variants=[
        {"name": "A", "message": {"text": "A"}}, {"name": "B", "message": {"text": "B"}}])
    run_to_end(rt, campaign_id)
    held = statuses(rt.engine, campaign_id)["held"]
    code, out = run("campaigns", "winner", str(campaign_id), "--variant", "B")
    assert code == 0 and f"variant B wins; {held} more recipients queued" in out
    assert statuses(rt.engine, campaign_id) == {"sent": 100}
    code, out = run("campaigns", "winner", str(campaign_id))
    assert code == 1 and "already B" in out


def test_test_send_goes_only_to_a_linked_staff_account(sapa, fake_line):
    from crm import staff, staff_links
    from tests.broadcasts.helpers import line_id, make_campaign

    run, rt = sapa
    _, own = seed(rt.engine, line=2)
    campaign_id = make_campaign(rt, draft=True)
    code, out = run("campaigns", "test", str(campaign_id), "--to", f"line:{line_id(0)}")
    assert code == 1 and "not a linked staff account" in out and not fake_line.deliveries_per_user()
    with session_scope(rt.engine) as session:
        user = staff.create_user(session=session, email="m@shop.test", password="a-long-password", role="marketer")
        link_code, _ = staff_links.new_code(session=session, staff_user_id=user.id)
        assert staff_links.redeem(session=session, code=link_code.replace("-", ""), channel="line",
                                  external_id=line_id(1), contact_id=own)
    code, out = run("campaigns", "test", str(campaign_id), "--to", f"line:{line_id(1)}")
    assert code == 0 and f"line:{line_id(1)} sent" in out
    assert list(fake_line.deliveries_per_user()) == [line_id(1)]
