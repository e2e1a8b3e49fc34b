"""Staff accounts with argon2 password hashes; guessable passwords are refused."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select
from zxcvbn import zxcvbn

from core.db import as_utc, utcnow
from crm.models import ROLES, StaffUser

_hasher = PasswordHasher()
MIN_PASSWORD = 8
MAX_PASSWORD = 1000  # the login form reads no more than this
# zxcvbn scores 0-4; below 2 means fewer than 10^6 guesses: one of its 30,000 commonest
# passwords, a dictionary word or name, a keyboard row, a date, or the user's own email.
MIN_PASSWORD_SCORE = 2
# zxcvbn's work grows with the length; a longer password is not weak because of its tail.
PASSWORD_CHECKED_CHARS = 100
RESET_VALID = timedelta(hours=24)  # how long a password reset link an admin made works


class StaffError(ValueError):
    """A staff account could not be created or changed as asked.

    `code` names the reason in the inbox's catalog (`err_<code>`), when it has one.
    """

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def check_password(password: str, *, email: str = "", display_name: str = "") -> None:
    """Raise StaffError unless `password` is long enough and not easy to guess."""
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"password must have at least {MIN_PASSWORD} characters", code=f"password_short:{MIN_PASSWORD}")
    if len(password) > MAX_PASSWORD:
        raise StaffError(f"password must have at most {MAX_PASSWORD} characters", code=f"password_long:{MAX_PASSWORD}")
    hints = [word for word in (email, email.split("@")[0], display_name) if word]
    if zxcvbn(password[:PASSWORD_CHECKED_CHARS], user_inputs=hints)["score"] < MIN_PASSWORD_SCORE:
        raise StaffError("password is too common or too easy to guess; use a longer phrase of unrelated words",
                         code="password_weak")


def end_sessions(user: StaffUser) -> None:
    """End every session of `user` (each carries the generation it started with)."""
    user.session_generation = (user.session_generation or 0) + 1


def create_user(*, session: Session, email: str, password: str, role: str, display_name: str = "") -> StaffUser:
    """Create a staff user (email unique, password hashed with argon2)."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 200:
        raise StaffError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    check_password(password, email=email, display_name=display_name)
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


def change_password(*, session: Session, user: StaffUser, current: str, new: str) -> None:
    """Set `user`'s password after checking the current one; every session of theirs ends."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise StaffError("the current password is wrong", code="current_password") from None
    check_password(new, email=user.email, display_name=user.display_name)
    user.password_hash = _hasher.hash(new)
    end_sessions(user)
    session.add(user)


def _reset_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_reset(*, session: Session, user: StaffUser) -> str:
    """A new one-time password reset token for `user` (only its hash is kept; an older link stops working)."""
    token = secrets.token_urlsafe(32)
    user.reset_token_hash, user.reset_expires_at = _reset_hash(token), utcnow() + RESET_VALID
    session.add(user)
    return token


def user_of_reset(*, session: Session, token: str) -> StaffUser | None:
    """The active user whose unexpired reset link carries `token`, else None."""
    if not token or len(token) > 100:
        return None
    user = session.exec(select(StaffUser).where(StaffUser.reset_token_hash == _reset_hash(token))).first()
    if user is None or not user.active or user.reset_expires_at is None or as_utc(user.reset_expires_at) <= utcnow():
        return None
    return user


def finish_reset(*, session: Session, token: str, new: str) -> StaffUser:
    """Set the password of the reset link's user; the link is used up and every session of theirs ends."""
    user = user_of_reset(session=session, token=token)
    if user is None:
        raise StaffError("this reset link is used, expired or unknown", code="reset_link")
    check_password(new, email=user.email, display_name=user.display_name)
    user.password_hash = _hasher.hash(new)
    user.reset_token_hash = user.reset_expires_at = None
    end_sessions(user)
    session.add(user)
    return user
