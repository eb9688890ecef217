"""The gateway's expected failures, each with a stable `code` that clients can branch on."""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {k: v for k, v in extensions.items() if v is not None}

    def as_extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.extensions}


class BadUserInput(GatewayError):
    code = "BAD_USER_INPUT"


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"


class RateLimited(GatewayError):
    code = "RATE_LIMITED"


class NotFound(GatewayError):
    code = "NOT_FOUND"


class UpstreamError(GatewayError):
    """An upstream did not give a usable answer; `upstream` names it."""

    code = "UPSTREAM_UNAVAILABLE"

    def __init__(self, upstream: str, message: str, **extensions: Any) -> None:
        super().__init__(message, upstream=upstream, **extensions)
        self.upstream = upstream


class UpstreamTimeout(UpstreamError):
    code = "UPSTREAM_TIMEOUT"


class UpstreamUnavailable(UpstreamError):
    code = "UPSTREAM_UNAVAILABLE"


class UpstreamCircuitOpen(UpstreamError):
    code = "UPSTREAM_CIRCUIT_OPEN"


class UpstreamBadResponse(UpstreamError):
    code = "UPSTREAM_BAD_RESPONSE"


class UpstreamRejected(UpstreamError):
    """The upstream refused the request the gateway built (4xx other than quota)."""

    code = "UPSTREAM_REJECTED"


class UpstreamQuotaExceeded(UpstreamError):
    code = "UPSTREAM_QUOTA_EXCEEDED"

    def __init__(self, upstream: str, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(upstream, message, retryAfter=retry_after_s)
        self.retry_after_s = retry_after_s


class MirrorNotReady(UpstreamError):
    """A mirror upstream has no snapshot of the feeds a query needs yet (its first refresh is under way or failing)."""

    code = "MIRROR_NOT_READY"
