"""Idempotency keys: a POST that can charge, sent twice with the same key, charges once.

A client sends `Idempotency-Key: <any unique string>` with the request. The first request with
that key (for that user) runs; its answer is stored with a fingerprint of the request (method,
path, body). Then, for 24 hours (IDEMPOTENCY_KEY_TTL_HOURS):

- the same key with the same request returns the stored answer (`Idempotent-Replayed: true`)
  and changes nothing;
- the same key with another request is refused with a 422.

Concurrency: the key's row is inserted at the start of the request, in the same transaction as
the change, and filled with the answer before the commit. A twin request arriving meanwhile
blocks on the unique index (PostgreSQL) or on the write lock (SQLite) until the first commits,
then replays its answer: two identical requests at the same moment make one change. A request
that fails (any error) rolls its row back with its change, so the client can retry the key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from integrations.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # visible ASCII, as in HTTP header tokens
_KEY = re.compile(KEY_PATTERN)


def ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def fingerprint(request) -> str:
    data = request.data
    if isinstance(data, QueryDict):
        data = {key: data.getlist(key) for key in sorted(data)}
    body = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(body.encode())
    return digest.hexdigest()


def _json_safe(data):
    return json.loads(json.dumps(data, cls=JSONEncoder))


def _refused(key: str) -> Response:
    return Response(
        {
            "detail": _(
                "The Idempotency-Key %(key)s was already used with another request (another "
                "address or body) in the last %(hours)s hours: send a new key for a new request."
            )
            % {"key": key, "hours": settings.IDEMPOTENCY_KEY_TTL_HOURS}
        },
        status=status.HTTP_422_UNPROCESSABLE_ENTITY,
    )


def _claim(request, key: str, print_: str) -> IdempotencyKey | Response:
    """Insert the key's row (ours to fill), or answer from the row a previous request left."""
    for _attempt in range(2):
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    owner=request.user,
                    key=key,
                    method=request.method,
                    path=request.path[:500],
                    fingerprint=print_,
                    created_at=now,
                )
        except IntegrityError:
            # Taken: by a request that has committed (a twin waited for it here).
            existing = IdempotencyKey.objects.filter(owner=request.user, key=key).first()
            if existing is None:
                continue  # purged in between: claim it again
            if existing.created_at < now - ttl():
                existing.delete()  # expired: the key is free again
                continue
            if existing.fingerprint != print_:
                return _refused(key)
            if existing.response_status is None:  # not reachable with committed rows only
                return Response(
                    {
                        "__all__": [
                            _("A request with this Idempotency-Key is still being processed.")
                        ]
                    },
                    status=status.HTTP_409_CONFLICT,
                )
            return Response(
                existing.response_body,
                status=existing.response_status,
                headers={REPLAYED_HEADER: "true"},
            )
    return Response(
        {"__all__": [_("A request with this Idempotency-Key is still being processed.")]},
        status=status.HTTP_409_CONFLICT,
    )


def idempotent(request, handler: Callable[[], Response]) -> Response:
    """Run `handler` (parse, call one service, render) in one transaction, at most once per
    Idempotency-Key. Errors raised by the handler roll everything back, the key included."""
    key = request.headers.get(HEADER)
    if key is None:
        with transaction.atomic():
            return _commit_only_success(handler())
    if not _KEY.fullmatch(key):
        raise ValidationError(
            {HEADER: [_("An Idempotency-Key is 1 to 255 visible ASCII characters.")]}
        )
    print_ = fingerprint(request)
    with transaction.atomic():
        claim = _claim(request, key, print_)
        if isinstance(claim, Response):
            return claim
        response = handler()
        if not status.is_success(response.status_code):
            transaction.set_rollback(True)
            return response
        claim.response_status = response.status_code
        claim.response_body = _json_safe(response.data)
        claim.save(update_fields=["response_status", "response_body"])
        return response


def _commit_only_success(response: Response) -> Response:
    if not status.is_success(response.status_code):
        transaction.set_rollback(True)
    return response
