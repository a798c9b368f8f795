"""The SMS gateway interface. A provider is a class with ``send(phone, text) -> SmsResult``; choose it with
``YISHI_SMS_GATEWAY`` (dotted path). The default logs the message and keeps it in ``SmsMessage`` only."""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("yishi.sms")


@dataclass(frozen=True)
class SmsResult:
    ok: bool
    ref: str = ""
    error: str = ""


class SmsGateway:
    name = "base"

    def send(self, phone: str, text: str) -> SmsResult:  # pragma: no cover - interface
        raise NotImplementedError


# What the logging gateway "sent", newest last, like ``django.core.mail.outbox``: the only place besides the log
# where a development or test run can read a sign-in code (SmsMessage keeps it masked).
outbox: deque[tuple[str, str]] = deque(maxlen=100)


class LoggingGateway(SmsGateway):
    """Writes the message to the log (and ``outbox``). For development, demos and installations without an SMS
    contract."""

    name = "logging"

    def send(self, phone: str, text: str) -> SmsResult:
        ref = uuid.uuid4().hex[:12]
        logger.info("SMS to %s: %s (ref %s)", phone, text, ref)
        outbox.append((phone, text))
        return SmsResult(ok=True, ref=ref)


@lru_cache(maxsize=4)
def _gateway(path: str) -> SmsGateway:
    return import_string(path)()


def get_gateway() -> SmsGateway:
    return _gateway(settings.YISHI_SMS_GATEWAY)


def send_sms(phone: str, text: str, *, record_text: str | None = None) -> SmsResult:
    """Send through the configured gateway and record the attempt (with ``record_text`` in place of a secret
    text, such as a sign-in code)."""
    from .models import SmsMessage

    gateway = get_gateway()
    result = _send(gateway, phone, text)
    SmsMessage.objects.create(
        phone=phone, text=(text if record_text is None else record_text)[:500], gateway=gateway.name, status="sent" if result.ok else "failed",
        gateway_ref=result.ref or result.error[:100],
    )
    return result


def send_sms_many(messages: Sequence[tuple[str, str]]) -> list[SmsResult]:
    """Send ``(phone, text)`` messages one by one through the gateway and record the attempts together
    (``yishi.core.bulk``): the receipts of a bulk job (the hotline import texts every caller their tracking code)."""
    from yishi.core.bulk import build, bulk_insert

    from .models import SmsMessage

    gateway = get_gateway()
    results, rows = [], []
    for phone, text in messages:
        result = _send(gateway, phone, text)
        results.append(result)
        rows.append(build(SmsMessage, {"phone": phone, "text": text[:500], "gateway": gateway.name,
                                       "status": "sent" if result.ok else "failed", "gateway_ref": result.ref or result.error[:100]}))
    bulk_insert(rows)
    return results


def _send(gateway: SmsGateway, phone: str, text: str) -> SmsResult:
    try:
        return gateway.send(phone, text)
    except Exception as exc:  # a provider's failure must not break the caller; it is recorded instead
        logger.exception("SMS gateway %s failed", gateway.name)
        return SmsResult(ok=False, error=str(exc)[:200])
