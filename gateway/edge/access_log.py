"""One access line per request (logger `gateway.access`, level INFO), written from the request's record when its
answer has gone out: the same record the metrics count.

Fields: `request_id`, `method`, `path`, `status`, `duration_ms`, `key_id` (the stored key's public id, never the key;
null for anonymous callers), `tier`, `operation` (the name the request gave or its document holds, cut to
`MAX_OPERATION_CHARS` and to the characters of a GraphQL name), `cost` (points charged), `response_cache` (hit, miss,
bypass), `upstream_calls` (HTTP requests sent to upstreams), `upstreams` (`<upstream>:<outcome>` per call or cache
answer) and `error_codes`. Nothing else of the request is logged: no header, no variables, no document.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from gateway.logs import EVENT_FIELDS
from gateway.request_record import RequestRecord

ACCESS_LOGGER: Final = "gateway.access"
MAX_OPERATION_CHARS: Final = 100
MAX_PATH_CHARS: Final = 200
_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_NOT_NAME_CHARACTERS = re.compile(r"[^_0-9A-Za-z]")


def sanitised_operation(name: str | None) -> str | None:
    """A name the caller chose, safe to log: GraphQL name characters only (others become `_`), at most
    MAX_OPERATION_CHARS."""
    if name is None:
        return None
    if len(name) <= MAX_OPERATION_CHARS and _GRAPHQL_NAME.fullmatch(name):
        return name
    return _NOT_NAME_CHARACTERS.sub("_", name[:MAX_OPERATION_CHARS])


def access_fields(record: RequestRecord) -> dict[str, Any]:
    path = record.path if len(record.path) <= MAX_PATH_CHARS else record.path[:MAX_PATH_CHARS] + "..."
    return {
        "request_id": record.request_id,
        "method": record.method,
        "path": path,
        "status": record.status,
        "duration_ms": round(record.duration_s * 1000, 2),
        "key_id": record.key_id,
        "tier": record.tier,
        "operation": sanitised_operation(record.operation),
        "cost": record.cost,
        "response_cache": record.response_cache,
        "upstream_calls": record.upstream_calls_sent(),
        "upstreams": [f"{call.upstream}:{call.outcome}" for call in record.upstream_calls],
        "error_codes": list(record.error_codes),
    }


class AccessLog:
    """An observer of `gateway.edge.request_id`: one line per finished request."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger(ACCESS_LOGGER)

    def write(self, record: RequestRecord) -> None:
        log = self._log
        if log.isEnabledFor(logging.INFO):  # made here, not by `info`: no search of the stack for the caller
            fields = {EVENT_FIELDS: access_fields(record)}
            log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "request", (), None, extra=fields))
