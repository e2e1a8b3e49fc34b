"""Staff accounts with argon2 password hashes."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from crm.models import ROLES, StaffUser

_hasher = PasswordHasher()
MIN_PASSWORD = 8


class StaffError(ValueError):
    """A staff account could not be created as asked."""


def create_user(*, session: Session, email: str, password: str, role: str, display_name: str = "") -> StaffUser:
    """Create a staff user (email unique, password hashed with argon2)."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 200:
        raise StaffError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"password must have at least {MIN_PASSWORD} characters")
    if session.exec(select(StaffUser).where(StaffUser.email == email)).first():
        raise StaffError(f"{email} already exists")
    user = StaffUser(email=email, password_hash=_hasher.hash(password), role=role,
                     display_name=display_name or email.split("@")[0])
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, email: str, password: str) -> StaffUser | None:
    """The active user with this email and password, else None."""
    user = session.exec(select(StaffUser).where(StaffUser.email == email.strip().lower())).first()
    if user is None or not user.active:
        _hasher.hash(password)  # same work either way: no timing hint that the email exists
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.add(user)
    return user
