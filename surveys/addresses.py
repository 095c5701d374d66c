"""Email addresses as Nordic customers have them: a local part may be non-ASCII
(RFC 6531, e.g. ünï@kund.example), which Django's own validator refuses."""

from __future__ import annotations

import hashlib
import hmac
import re

from django.conf import settings
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


def address_hash(address: str) -> str:
    """A keyed hash of the address (PRIVACY_HASH_KEY): what is kept of an erased
    customer who must not be mailed. Without the key it cannot be checked against a
    list of addresses."""
    key = settings.PRIVACY_HASH_KEY.encode()
    return hmac.new(key, address.strip().lower().encode(), hashlib.sha256).hexdigest()
