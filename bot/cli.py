"""The `sapa` command: run the processes, manage the database, users, tokens and webhooks."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time

import click
from sqlmodel import Session, select

from core import cli as config
from core.settings import Settings
from handlers.nlu.cli import nlu


def _fail(message: str) -> None:
    raise click.ClickException(message)


@click.group()
def main() -> None:
    """Sapa: chat CRM for LINE and Telegram. Start with `sapa run`."""


# --- processes ---------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="web worker processes")
def run(host: str, port: int, workers: int) -> None:
    """Run web + worker + clock together; Ctrl-C stops all three."""
    settings = config.settings()
    _check_schema(settings)
    exe = [sys.executable, "-m", "bot.cli"]
    commands = {
        "web": exe + ["web", "--host", host, "--port", str(port), "--workers", str(workers)],
        "worker": exe + ["worker"],
        "clock": exe + ["clock"],
    }
    from bot.supervisor import Child, Supervisor

    # The worker stops gracefully on SIGINT (finishing its tasks), the others on SIGTERM.
    supervisor = Supervisor([Child(name, command, signal.SIGINT if name == "worker" else signal.SIGTERM)
                             for name, command in commands.items()], echo=lambda line: click.echo(line, err=True))
    supervisor.start()
    url = f"http://{host}:{port}"
    click.echo(f"Sapa is running at {url}  (inbox: {url}/inbox/, simulator: {url}/simulator/, "
               f"API: {url}/api/v1/openapi.json)")
    _print_demo_login()
    click.echo(f"Channels on: {', '.join(settings.channels) or 'none'}. Press Ctrl-C to stop.")

    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        failure = supervisor.check()
        if failure is not None:
            click.echo(f"{failure}; stopping the others.", err=True)
            exit_code = 1
            break
        time.sleep(0.2)
    click.echo("Stopping…")
    supervisor.stop(timeout=15)
    click.echo("Stopped.")
    sys.exit(exit_code)


def _check_schema(settings: Settings) -> None:
    from sqlalchemy import inspect

    from core.db import get_engine

    try:
        tables = inspect(get_engine(settings.database_url)).get_table_names()
    except Exception as exc:  # noqa: BLE001
        _fail(f"cannot open the database {settings.database_url}: {exc}")
    if "webhookevent" not in tables:
        _fail("the database has no tables yet: run `sapa db upgrade` first (make run does it for you)")


def _print_demo_login() -> None:
    from crm.demo import DEMO_LOGIN, DEMO_STAFF
    from crm.models import StaffUser

    emails = [DEMO_LOGIN[0]] + [email for email, _role, _name in DEMO_STAFF]
    with Session(config.engine()) as session:
        present = set(session.exec(select(StaffUser.email).where(StaffUser.email.in_(emails))).all())
    if present:
        logins = ", ".join(email for email in emails if email in present)
        click.echo(f"Demo staff logins (password {DEMO_LOGIN[1]}): {logins}")


def _port_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (a bind without SO_REUSEPORT succeeds)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed server's TIME_WAIT is fine
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


# An idle worker's wait between looks at the queue grows by this factor up to the max.
POLL_BACKOFF = 1.1


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def web(host: str, port: int, workers: int) -> None:
    """Serve the web app with gunicorn (webhooks, API, simulator)."""
    from gunicorn.app.base import BaseApplication

    config.settings()
    # Each worker binds its own SO_REUSEPORT socket (the kernel spreads connections over
    # them), which would let a second server share the port silently: refuse instead.
    if not _port_free(host, port):
        _fail(f"{host}:{port} is already in use (another `sapa web` or `sapa run`?): stop it, or pick "
              f"another port with --port")

    class WebApp(BaseApplication):
        def load_config(self) -> None:
            from bot import gunicorn_conf

            # As gunicorn reads a config module (`-c python:bot.gunicorn_conf`): its settings by name.
            for key, value in vars(gunicorn_conf).items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)

        def load(self):
            import gc

            from bot.app import create_app

            app = create_app()
            # The SDKs' hundreds of thousands of long-lived objects made every full GC pass
            # cost ~150 ms of some request; frozen, they are no longer scanned.
            gc.freeze()
            return app

    WebApp().run()


@main.command()
@click.option("--workers", type=int, default=None, help="worker threads (default: queue.workers)")
def worker(workers: int | None) -> None:
    """Consume queue tasks (processing events, sending messages)."""
    import gc
    import logging

    from bot import tasks  # noqa: F401  (registers the tasks)
    from core.queue import configure_queue, huey
    from bot.runtime import warm_up
    from bot.supervisor import QueueConsumer
    from core.runtime import get_runtime, set_runtime

    settings = config.settings()
    logging_setup(settings)
    configure_queue(settings.queue_url)
    queue = settings.queue
    count = workers or queue.workers
    # Each worker builds its runtime (database pool, platform clients) once Huey has
    # started it (below): pools and event-loop threads do not survive a fork.
    consumer = QueueConsumer(
        huey, workers=count, worker_type=queue.worker_type, periodic=False,
        initial_delay=queue.poll_interval_seconds, backoff=POLL_BACKOFF, max_delay=queue.max_poll_interval_seconds,
    )

    @huey.on_startup()
    def prepare_worker() -> None:
        # In each worker, before its first task: the runtime and the NLU model, then frozen.
        # A full GC pass over their ~350k long-lived objects otherwise stalls every task
        # in that worker for ~200 ms, a few times a minute under load.
        try:
            warm_up(get_runtime())
        except Exception:  # noqa: BLE001 - the first task builds it again and reports the error
            logging.getLogger(__name__).exception("warming up the worker failed")
        gc.freeze()

    click.echo(f"worker: {count} {queue.worker_type} workers on {settings.queue_url}")
    try:
        consumer.run()
    finally:
        runtime = set_runtime(None)
        if runtime is not None:
            runtime.close()


@main.command()
def clock() -> None:
    """Run the scheduler (exactly one per install): sweeps and scheduled jobs."""
    from bot.clock import run_clock

    settings = config.settings()
    logging_setup(settings)
    run_clock(settings)


def logging_setup(settings: Settings) -> None:
    """Log to stderr at the configured level."""
    import logging

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if logging.getLevelName(settings.log_level.upper()) != logging.DEBUG:
        # APScheduler says INFO at every job run (every 10 s) and Huey at every task (each
        # message); their warnings and errors stay.
        for name in ("apscheduler", "huey"):
            logging.getLogger(name).setLevel(logging.WARNING)


# --- database ----------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema."""
    from bot.migrate import upgrade

    settings = config.settings()
    before, after = upgrade(settings.database_url)
    where = _redact(settings.database_url)
    if before == after:
        click.echo(f"database already at the latest schema, revision {after} ({where})")
    else:
        click.echo(f"database migrated from {before or 'empty'} to revision {after} ({where})")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@main.command()
@click.option("--if-empty", is_flag=True, help="only when the database has no contacts and no staff yet")
def demo(if_empty: bool) -> None:
    """Load demo customers and a demo staff login (safe to run again)."""
    from crm import demo as demo_data
    from core.db import session_scope

    with session_scope(config.engine()) as session:
        if if_empty and not demo_data.database_is_empty(session):
            click.echo("database already has data; demo data not loaded")
            return
        added = demo_data.load(session)
    click.echo("demo data loaded" if added else "demo data already present")
    _print_demo_login()


# --- staff and tokens --------------------------------------------------------------


@main.group()
def user() -> None:
    """Staff accounts."""


@user.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "agent", "marketer"]), required=True)
@click.option("--name", default="", help="display name")
def user_add(email: str, role: str, name: str) -> None:
    """Add a staff user; the password is read from stdin."""
    from core.db import session_scope
    from crm.staff import StaffError, create_user

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with session_scope(config.engine()) as session:
            created = create_user(session=session, email=email, password=password, role=role, display_name=name)
            click.echo(f"added {created.email} as {created.role}")
    except StaffError as exc:
        from crm.inbox.i18n import error_text

        _fail(f"{exc}\n{error_text(exc.code)}" if exc.code else str(exc))  # English, then Indonesian


@main.group()
def token() -> None:
    """REST API tokens."""


@token.command("add")
@click.argument("name")
def token_add(name: str) -> None:
    """Create an API token and print it once (it is stored hashed)."""
    from core.db import session_scope
    from crm.tokens import create_token

    if not name.strip():
        _fail("give the token a name, e.g. `sapa token add pos-system`")
    with session_scope(config.engine()) as session:
        value = create_token(session=session, name=name.strip())
    click.echo(value)
    click.echo(f"Store it now: it cannot be shown again. Use it as 'Authorization: Bearer {value[:9]}…'", err=True)


@token.command("list")
def token_list() -> None:
    """List the API tokens: id, name, created, last used, revoked (in the shop's timezone, as on the Staff page)."""
    from sqlmodel import Session

    from core.db import as_utc
    from crm.tokens import list_tokens

    tz = config.settings().tz

    def when(value) -> str:
        if not value:
            return "-"
        return as_utc(value).astimezone(tz).strftime("%Y-%m-%d %H:%M")

    with Session(config.engine()) as session:
        rows = list_tokens(session=session)
    click.echo(f"{'ID':>5}  {'NAME':<24}  {'CREATED':<16}  {'LAST USED':<16}  REVOKED")
    for row in rows:
        click.echo(f"{row.id:>5}  {row.name:<24}  {when(row.created_at):<16}  {when(row.last_used_at):<16}  "
                   f"{when(row.revoked_at) if row.revoked else 'no'}")


@token.command("revoke")
@click.argument("name_or_id")
def token_revoke(name_or_id: str) -> None:
    """Revoke the token with this id, or every token with this name; it gets 401 from then on."""
    from core.db import session_scope
    from crm.tokens import TokenError, find_tokens, revoke_tokens

    try:
        with session_scope(config.engine()) as session:
            revoked = revoke_tokens(session=session, tokens=find_tokens(session=session, name_or_id=name_or_id))
            for row in revoked:
                click.echo(f"revoked token {row.id} ({row.name})")
    except TokenError as exc:
        _fail(str(exc))
    if not revoked:
        click.echo(f"{name_or_id} was revoked already")


# --- Telegram ----------------------------------------------------------------------


@main.group()
def telegram() -> None:
    """Telegram bot commands."""


@telegram.command("set-webhook")
@click.argument("url")
def telegram_set_webhook(url: str) -> None:
    """Register URL (https://your.host/webhooks/telegram) with Telegram, with the secret token."""
    from telegram.error import TelegramError

    from bot.telegram.sender import TelegramSender

    settings = config.settings()
    if not settings.telegram.enabled:
        _fail("set SAPA_TELEGRAM__BOT_TOKEN first (from @BotFather)")
    if not settings.telegram.secret_token:
        _fail("set SAPA_TELEGRAM__SECRET_TOKEN first (any 1-256 of A-Z a-z 0-9 _ -)")
    if not url.startswith("https://") and settings.env == "production":
        _fail("Telegram only delivers webhooks to https:// URLs")
    sender = TelegramSender(settings.telegram)
    try:
        sender.run(sender.bot.set_webhook(url, secret_token=settings.telegram.secret_token,
                                          allowed_updates=["message", "edited_message", "callback_query",
                                                           "my_chat_member"]))
        info = sender.run(sender.bot.get_webhook_info())
    except TelegramError as exc:
        _fail(f"Telegram refused the webhook: {exc.message}")
    finally:
        sender.close()
    click.echo(f"webhook set: {info.url or url}")
    click.echo(f"pending updates: {info.pending_update_count}")


# --- contacts and history ----------------------------------------------------------


@main.group()
def contacts() -> None:
    """Read contacts and their history."""


@contacts.command("list")
@click.option("-q", "--query", default=None, help="name, phone or platform id")
@click.option("--channel", type=click.Choice(["line", "telegram", "simulator"]), default=None)
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def contacts_list(query: str | None, channel: str | None, limit: int, as_json: bool) -> None:
    """List contacts, most recently seen first."""
    from crm.api.contacts import contact_public
    from crm.contacts import identities_of, search_contacts

    with Session(config.engine()) as session:
        rows = search_contacts(session=session, q=query, channel=channel, limit=limit)
        identities = identities_of(session=session, contact_ids=[c.id for c in rows])
        items = [contact_public(c, identities[c.id]).model_dump(mode="json") for c in rows]
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("no contacts yet")
    for item in items:
        ids = ", ".join(f"{i['channel']}:{i['external_id']}" for i in item["identities"])
        click.echo(f"{item['id']:>6}  {item['display_name'] or '-':<24} {item['status']:<8} {ids}")


@contacts.command("history")
@click.argument("contact_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def contacts_history(contact_id: int, as_json: bool) -> None:
    """Show a contact's whole history across channels, oldest first."""
    from crm.api.contacts import message_public
    from crm.history import contact_messages
    from crm.models import Contact

    with Session(config.engine()) as session:
        contact = session.get(Contact, contact_id)
        if contact is None:
            _fail(f"no contact {contact_id}; find ids with `sapa contacts list`")
        rows = [message_public(row).model_dump(mode="json") for row in
                contact_messages(session=session, contact_id=contact_id, limit=100_000)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(f"# {contact.display_name or contact_id} ({contact.status})")
    for row in rows:
        arrow = "→" if row["direction"] == "out" else "←"
        text = row["text"] if row["text"] is not None else f"[{row['type']}]"
        flags = f" [{row['status']}]" if row["direction"] == "out" else (f" ({row['intent']})" if row["intent"] else "")
        click.echo(f"{row['created_at'][:19]} {row['channel']:<9} {arrow} {text}{flags}")


# --- events ------------------------------------------------------------------------


@main.group()
def events() -> None:
    """Inspect and retry stored webhook events."""


@events.command("list")
@click.option("--status", default="failed", show_default=True,
              type=click.Choice(["received", "processing", "retrying", "processed", "ignored", "failed"]))
@click.option("--limit", default=50, show_default=True)
def events_list(status: str, limit: int) -> None:
    """List stored events by status (failed ones by default)."""
    from crm.models import WebhookEvent

    with Session(config.engine()) as session:
        rows = session.exec(select(WebhookEvent).where(WebhookEvent.status == status)
                            .order_by(WebhookEvent.id.desc()).limit(limit)).all()
    if not rows:
        click.echo(f"no {status} events")
    for row in rows:
        click.echo(f"{row.id:>8} {row.channel:<9} {row.event_type:<16} attempts={row.attempts} {row.error or ''}")


@events.command("retry")
@click.argument("event_ids", type=int, nargs=-1)
@click.option("--all-failed", is_flag=True, help="retry every failed event")
def events_retry(event_ids: tuple[int, ...], all_failed: bool) -> None:
    """Queue failed events again."""
    from sqlalchemy import update

    from core.queue import configure_queue
    from bot.tasks import enqueue_events
    from core.db import session_scope
    from crm.models import WebhookEvent

    configure_queue(config.settings().queue_url)
    with session_scope(config.engine()) as session:
        query = update(WebhookEvent).where(WebhookEvent.status == "failed")
        if not all_failed:
            if not event_ids:
                _fail("name event ids or pass --all-failed")
            query = query.where(WebhookEvent.id.in_(event_ids))
        ids = [row[0] for row in session.execute(query.values(status="received").returning(WebhookEvent.id))]
    enqueue_events(ids)
    click.echo(f"queued {len(ids)} event(s) again")


main.add_command(nlu)  # sapa nlu train | classify | eval

from broadcasts.cli import campaigns, journeys, segments  # noqa: E402

main.add_command(segments)  # sapa segments preview | create | list
main.add_command(campaigns)  # sapa campaigns create | list | show | pause | resume | cancel | winner | export | …
main.add_command(journeys)  # sapa journeys list | enable | disable

if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
