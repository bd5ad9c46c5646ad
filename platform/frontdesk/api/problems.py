"""Errors as RFC 9457 problem details, mapped in this one place."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from sqlalchemy.exc import IntegrityError

from frontdesk.errors import FrontdeskError

log = logging.getLogger("frontdesk.api")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://frontdesk.dev/problems/"


def problem(
    request: Request[Any, Any, Any],
    *,
    status: int,
    title: str,
    detail: str,
    slug: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if extra:
        body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def frontdesk_error(request: Request[Any, Any, Any], exc: FrontdeskError) -> Response[Any]:
    if exc.status >= 500:
        log.error("unhandled platform error on %s: %s", request.url.path, exc, exc_info=exc)
        detail = "the server could not complete this request"
    else:
        detail = exc.detail
    return problem(
        request,
        status=exc.status,
        title=exc.title,
        detail=detail,
        slug=exc.slug,
        extra=exc.extra or None,
        headers=getattr(exc, "headers", None),
    )


_HTTP_SLUGS = {
    400: ("invalid-input", "Invalid input"),
    401: ("unauthenticated", "Authentication required"),
    403: ("permission-denied", "Permission denied"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("rate-limited", "Too many requests"),
}


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    slug, title = _HTTP_SLUGS.get(status, ("http-error", "Request failed"))
    if status >= 500:
        log.error("HTTP %s on %s", status, request.url.path, exc_info=exc)
        slug, title = "internal", "Internal error"
    extra: dict[str, Any] = {}
    if isinstance(exc.extra, list) and exc.extra:
        extra["errors"] = exc.extra
    elif isinstance(exc.extra, dict) and exc.extra:
        extra["errors"] = [exc.extra]
    detail = exc.detail if status < 500 else "the server could not complete this request"
    return problem(
        request,
        status=status,
        title=title,
        detail=detail,
        slug=slug,
        extra=extra,
        headers=dict(exc.headers) if exc.headers else None,
    )


def integrity_error(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    # A unique or foreign-key constraint the checks did not foresee (usually a
    # race between two requests): the transaction is rolled back, nothing kept.
    log.info("integrity error on %s: %s", request.url.path, exc.orig)
    return problem(
        request,
        status=409,
        title="Conflict",
        detail="the request conflicts with the current state; nothing was changed",
        slug="conflict",
    )


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error on %s", request.url.path, exc_info=exc)
    return problem(
        request,
        status=500,
        title="Internal error",
        detail="the server could not complete this request",
        slug="internal",
    )


EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {
    FrontdeskError: frontdesk_error,
    HTTPException: http_error,
    IntegrityError: integrity_error,
    Exception: unexpected_error,
}
