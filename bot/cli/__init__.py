"""The `sapa` command: run the processes, manage the database, users, tokens and webhooks.

One module per job: `processes` (run, web, worker, clock), `data` (db, demo, user,
token), `records` (contacts, events), `webhooks` (telegram set-webhook); the `nlu`,
`segments`, `campaigns` and `journeys` groups come from their own packages.
"""

from __future__ import annotations

import click

from bot.cli import data, processes, records, webhooks
from core.runtime import Runtime, set_builder
from core.settings import Settings
from broadcasts.cli import campaigns, journeys, segments
from handlers.nlu.cli import nlu


@click.group()
def main() -> None:
    """Sapa: chat CRM for LINE and Telegram. Start with `sapa run`."""
    set_builder(_build_runtime)


def _build_runtime(settings: Settings) -> Runtime:
    # Importing bot.runtime costs ~2 s of CPU (the LINE and Telegram SDKs, the NLU): only a
    # command that sends or answers pays it, not `sapa --help` or `sapa user add`.
    from bot.runtime import build_runtime

    return build_runtime(settings)


for command in (
    processes.run, processes.web, processes.worker, processes.clock,
    data.db, data.demo, data.user, data.token, data.cross_sell, data.figures,
    records.contacts, records.events,
    webhooks.telegram,
    nlu,  # sapa nlu train | classify | eval
    segments,  # sapa segments preview | create | list
    campaigns,  # sapa campaigns create | list | show | pause | resume | cancel | winner | export | …
    journeys,  # sapa journeys list | enable | disable
):
    main.add_command(command)
