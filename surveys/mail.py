"""Django's SMTP backend, taking internationalised addresses (RFC 6531) as they are:
with SMTPUTF8 where the mail server offers it, and with a clear reason where it does
not (Django would turn the local part into an encoded word no server delivers)."""

from __future__ import annotations

import email.policy
import io
import smtplib
from email.generator import BytesGenerator
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend
from django.core.mail.message import sanitize_address

from .addresses import is_international


class NoSMTPUTF8Error(smtplib.SMTPException):
    """The mail server does not offer SMTPUTF8, so it cannot take this address."""


class SMTPBackend(EmailBackend):
    def _send(self, email_message: EmailMessage) -> bool:
        recipients = email_message.recipients()
        if not any(is_international(address) for address in recipients):
            return super()._send(email_message)
        try:
            self._send_utf8(email_message, recipients)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True

    def _send_utf8(self, email_message: EmailMessage, recipients: list[str]) -> None:
        assert self.connection is not None
        self.connection.ehlo_or_helo_if_needed()
        if not self.connection.has_extn("smtputf8"):
            raise NoSMTPUTF8Error(
                f"the mail server does not offer SMTPUTF8, which the address "
                f"{', '.join(recipients)} needs (RFC 6531)"
            )
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        message: Any = email_message.message()
        # The address headers as written, in UTF-8, as SMTPUTF8 allows.
        for name, values in (("To", email_message.to), ("Cc", email_message.cc)):
            if values:
                message.replace_header(name, ", ".join(values))
        data = io.BytesIO()
        policy = email.policy.SMTPUTF8.clone(linesep="\r\n")
        BytesGenerator(data, mangle_from_=False, policy=policy).flatten(message)
        self.connection.sendmail(
            sanitize_address(email_message.from_email, encoding),
            recipients,
            data.getvalue(),
            mail_options=["SMTPUTF8"],
        )
