"""`sapa db`, `sapa demo`, `sapa user`, `sapa token`: the database, demo data, staff accounts, API tokens."""

from __future__ import annotations

import sys

import click
from sqlmodel import Session, select

from bot.cli.common import fail, print_demo_login
from core import cli as config
from core.db import as_utc, session_scope, utcnow
from broadcasts import figures as campaign_figures
from crm import daily_figures, shop_settings
from crm import demo as demo_data
from crm.staff import StaffError, create_user
from crm.tokens import TOKEN_ROLES, TokenError, create_token, find_tokens, list_tokens, revoke_tokens


@click.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema."""
    # Here, not at the top: Alembic would add 0.17 s CPU to every other `sapa` command.
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


@click.command()
@click.option("--if-empty", is_flag=True, help="only when the database has no contacts and no staff yet")
def demo(if_empty: bool) -> None:
    """Load demo customers and a demo staff login (safe to run again)."""
    with session_scope(config.engine()) as session:
        if if_empty and not demo_data.database_is_empty(session):
            click.echo("database already has data; demo data not loaded")
            return
        added = demo_data.load(session)
    click.echo("demo data loaded" if added else "demo data already present")
    print_demo_login()


@click.group()
def figures() -> None:
    """The dashboards' daily rows (the clock keeps them; rebuild a range after a correction or an import)."""


@figures.command("rebuild")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True, help="first shop day, YYYY-MM-DD")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), required=True, help="last shop day, YYYY-MM-DD")
def figures_rebuild(first, last) -> None:
    """Recompute the daily rows (and the campaign funnel) of the shop's days FROM..TO, in the shop's timezone."""
    first, last = first.date(), last.date()
    if first > last:
        fail("--from is after --to")
    with session_scope(config.engine()) as session:
        shop = shop_settings.current_config(session, config.settings())
        days = daily_figures.refresh_days(session=session, first=first, last=last, tz=shop.tz)
        campaigns = campaign_figures.store_funnel(session=session, first=first, last=last, tz=shop.tz,
                                                  attribution_days=shop.broadcasts.attribution_days)
    click.echo(f"{days} days rebuilt ({campaigns} campaigns)")


# --- staff and tokens --------------------------------------------------------------


@click.group()
def user() -> None:
    """Staff accounts."""


@user.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "agent", "marketer"]), required=True)
@click.option("--name", default="", help="display name")
def user_add(email: str, role: str, name: str) -> None:
    """Add a staff user; the password is read from stdin."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with session_scope(config.engine()) as session:
            created = create_user(session=session, email=email, password=password, role=role, display_name=name)
            click.echo(f"added {created.email} as {created.role}")
    except StaffError as exc:
        # Here, not at the top: the inbox's word catalogs would add 0.14 s CPU to every `sapa` command.
        from crm.inbox.i18n import error_text

        fail(f"{exc}\n{error_text(exc.code)}" if exc.code else str(exc))  # English, then Indonesian


@user.command("link-code")
@click.argument("email")
def user_link_code(email: str) -> None:
    """A one-time code (15 minutes) linking this staff member's own LINE or Telegram chat; printed alone last."""
    from sqlmodel import select

    from crm import staff_links
    from crm.models import StaffUser

    with session_scope(config.engine()) as session:
        member = session.exec(select(StaffUser).where(StaffUser.email == email.strip().lower())).first()
        if member is None or not member.active:
            fail(f"no active staff member with the email {email}")
        code, expires_at = staff_links.new_code(session=session, staff_user_id=member.id)
    click.echo(f"Send this code from {member.email}'s own chat before {as_utc(expires_at):%H:%M} UTC: to the "
               f"Telegram bot as /start {code}, or to the LINE account as a message.")
    click.echo(code)


@click.group()
def token() -> None:
    """REST API tokens."""


@token.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(TOKEN_ROLES),
              help="limit the token to what this staff role does (default: full access)")
def token_add(name: str, role: str | None) -> None:
    """Create an API token and print it once (it is stored hashed)."""
    if not name.strip():
        fail("give the token a name, e.g. `sapa token add pos-system`")
    with session_scope(config.engine()) as session:
        value = create_token(session=session, name=name.strip(), role=role)
    click.echo(value)
    click.echo(f"Store it now: it cannot be shown again. Use it as 'Authorization: Bearer {value[:9]}…'", err=True)


@token.command("list")
def token_list() -> None:
    """List the API tokens: id, name, access (full or a role), created, last used, revoked (in the shop's timezone, as on the Staff page)."""
    tz = config.settings().tz

    def when(value) -> str:
        if not value:
            return "-"
        return as_utc(value).astimezone(tz).strftime("%Y-%m-%d %H:%M")

    with Session(config.engine()) as session:
        rows = list_tokens(session=session)
    click.echo(f"{'ID':>5}  {'NAME':<24}  {'ACCESS':<8}  {'CREATED':<16}  {'LAST USED':<16}  REVOKED")
    for row in rows:
        click.echo(f"{row.id:>5}  {row.name:<24}  {row.role or 'full':<8}  {when(row.created_at):<16}  "
                   f"{when(row.last_used_at):<16}  {when(row.revoked_at) if row.revoked else 'no'}")


@token.command("revoke")
@click.argument("name_or_id")
def token_revoke(name_or_id: str) -> None:
    """Revoke the token with this id, or every token with this name; it gets 401 from then on."""
    try:
        with session_scope(config.engine()) as session:
            revoked = revoke_tokens(session=session, tokens=find_tokens(session=session, name_or_id=name_or_id))
            for row in revoked:
                click.echo(f"revoked token {row.id} ({row.name})")
    except TokenError as exc:
        fail(str(exc))
    if not revoked:
        click.echo(f"{name_or_id} was revoked already")


# --- cross-sell --------------------------------------------------------------------


@click.group("cross-sell")
def cross_sell() -> None:
    """Frequently bought together: the rules the bot offers from."""


@cross_sell.command("recompute")
def cross_sell_recompute() -> None:
    """Learn the rules from the orders now (the clock does it each night)."""
    from crm import cross_sell as rules_of_orders

    rules = config.settings().cross_sell
    with session_scope(config.engine()) as session:
        summary = rules_of_orders.recompute(session=session, now=utcnow(), rules=rules)
    click.echo(f"{summary['rules']} rules for {summary['products']} products"
               + ("" if summary["rules"] else f" (fewer than {rules.min_orders} orders in {rules.lookback_days} days, "
                                              "or no pair often enough together)"))


@cross_sell.command("list")
def cross_sell_list() -> None:
    """Show the stored rules: product → suggested, with support, confidence and lift."""
    from crm.cross_sell import CrossSellRule
    from crm.orders import Product

    with Session(config.engine()) as session:
        names = dict(session.exec(select(Product.id, Product.name)).all())
        rules = session.exec(select(CrossSellRule).order_by(CrossSellRule.product_id,
                                                            CrossSellRule.confidence.desc())).all()
    if not rules:
        click.echo("no rules yet: run `sapa cross-sell recompute`")
    for rule in rules:
        click.echo(f"{names.get(rule.product_id, rule.product_id)} → {names.get(rule.suggested_id, rule.suggested_id)}"
                   f"  orders {rule.orders}  support {rule.support:.3f}  confidence {rule.confidence:.2f}"
                   f"  lift {rule.lift:.2f}")
