"""What the `sapa` commands share: failing with a message, the demo logins line."""

from __future__ import annotations

import click
from sqlmodel import Session, select

from core import cli as config
from crm.demo import DEMO_LOGIN, DEMO_STAFF
from crm.models import StaffUser


def fail(message: str) -> None:
    """Stop the command with `message` (click prints it, exit status 1)."""
    raise click.ClickException(message)


def print_demo_login() -> None:
    """Print the demo staff logins that exist in the database, with their password."""
    emails = [DEMO_LOGIN[0]] + [email for email, _role, _name in DEMO_STAFF]
    with Session(config.engine()) as session:
        present = set(session.exec(select(StaffUser.email).where(StaffUser.email.in_(emails))).all())
    if present:
        logins = ", ".join(email for email in emails if email in present)
        click.echo(f"Demo staff logins (password {DEMO_LOGIN[1]}): {logins}")
