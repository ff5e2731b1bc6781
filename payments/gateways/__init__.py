"""The card gateways: the interface (base.py), the registry below, and the built-in test gateway
(test.py). `gateway()` is the one configured (`PAYMENT_GATEWAY`); `gateway(code)` the one a card
or a payment was made with (a refund goes back through the gateway that took the money)."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from payments.gateways.base import Gateway


class UnknownGateway(LookupError):
    pass


def gateway(code: str | None = None) -> Gateway:
    code = code or settings.PAYMENT_GATEWAY
    path = settings.PAYMENT_GATEWAY_CLASSES.get(code)
    if path is None:
        raise UnknownGateway(code)
    gateway_class = import_string(path)
    instance: Gateway = gateway_class()
    return instance


def gateway_codes() -> list[str]:
    return list(settings.PAYMENT_GATEWAY_CLASSES)
