"""Email addresses as Nordic customers have them: a local part may be non-ASCII
(RFC 6531, e.g. ünï@kund.example), which Django's own validator refuses."""

from __future__ import annotations

import re

from django.core.validators import EmailValidator
from django.utils.regex_helper import _lazy_re_compile

# Django's dot-atom, with every non-ASCII character allowed beside the ASCII ones.
_ATOM = r"[-!#$%&'*+/=?^_`{}|~0-9A-Z\u0080-\U0010ffff]+"


class InternationalEmailValidator(EmailValidator):
    user_regex = _lazy_re_compile(
        rf"(^{_ATOM}(\.{_ATOM})*\Z"  # dot-atom
        r'|^"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"\Z)',
        re.IGNORECASE,
    )


validate_address = InternationalEmailValidator()


def is_international(address: str) -> bool:
    """The local part is not ASCII: only a mail server offering SMTPUTF8 takes it."""
    return not address.rpartition("@")[0].isascii()
