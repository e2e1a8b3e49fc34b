"""One email out over SMTP (the standard library), in the TLS mode of the settings."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from core.settings import SmtpSettings


class MailError(Exception):
    """A message the server did not take; `temporary` when trying again later may work."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.temporary = temporary


def compose(*, smtp: SmtpSettings, to: str, subject: str, body: str, message_id: str) -> EmailMessage:
    """A plain-text email from the configured sender, with the caller's stable Message-ID."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = smtp.from_address, to, subject
    message["Message-ID"], message["Date"] = message_id, formatdate(localtime=False)
    message.set_content(body)
    return message


def send(smtp: SmtpSettings, message: EmailMessage) -> None:
    """Hand `message` to the SMTP server; MailError when it is not taken (temporary: unreachable, 4xx, login)."""
    try:
        if smtp.tls == "ssl":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_seconds,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
        with client:
            if smtp.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password)
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise MailError(f"recipient refused: {exc.recipients}", temporary=all(400 <= c < 500 for c in codes)) from None
    except smtplib.SMTPAuthenticationError as exc:
        # A wrong password is fixed in the settings; the email waits for it.
        raise MailError(f"login refused: {exc.smtp_code} {exc.smtp_error!r}", temporary=True) from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"{exc.smtp_code} {exc.smtp_error!r}", temporary=exc.smtp_code < 500) from None
    except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, dropped, TLS failed
        raise MailError(f"{type(exc).__name__}: {exc}", temporary=True) from None
