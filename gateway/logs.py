"""Logging of `python -m gateway`: every line of every logger (the gateway's `logging.getLogger` calls, uvicorn's,
aiohttp's, and structlog's) goes through structlog's `ProcessorFormatter` to stderr, one JSON object per line
(`log_format` json) or one readable line (text).

Each line has `timestamp` (ISO 8601, UTC), `level`, `logger` and `event`, the fields the caller passed (`extra=`,
e.g. the access line of `gateway.edge.access_log`), `request_id` when it was written while a request was served, and
`exception` (the traceback) when there is one. Whatever a line holds, anything shaped like a gateway API key, an
`api_key=` parameter, a bearer token or an `Authorization`/`X-Api-Key` header value is masked before it is written.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Final, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from gateway.request_record import current_record
from gateway.settings import Settings

MASK: Final = "[REDACTED]"
# A record whose attribute of this name is a dict (`extra={EVENT_FIELDS: {...}}`) is the line's fields, rendered as
# they are (the access line, once per request: the shortest way through the formatter).
EVENT_FIELDS: Final = "event_fields"
# Kept: the name of what is masked and a key's public id (`pgw_<key id>_`).
_SECRETS = re.compile(
    r"(?P<key>pgw_[0-9a-f]{12}_)[A-Za-z0-9_-]+"
    r"|(?P<parameter>(?:api_key|apikey|api-key|access_token|token|password|secret)=)[^&\s\"',;]+"
    r"|(?P<header>(?:authorization|x-api-key|proxy-authorization)[\"']?\s*[:=]\s*[\"']?)"
    r"(?:(?:bearer|basic)\s+)?[^\s\"',;]+"
    r"|(?P<bearer>bearer\s+)[A-Za-z0-9._~+/=-]+",
    re.IGNORECASE,
)
_UNLOGGED_FIELDS: Final = ("color_message",)  # uvicorn's copy of its message with terminal colours


# Words one of which every match of _SECRETS holds: most lines hold none and skip the (slower) expression.
_TRIGGERS: Final = ("pgw_", "api_key", "apikey", "api-key", "token", "password", "secret", "authorization", "bearer")


def redact(text: str) -> str:
    """`text` with every secret-shaped part masked (see the module docstring)."""
    lowered = text.lower()
    for trigger in _TRIGGERS:
        if trigger in lowered:
            return _SECRETS.sub(_masked, text)
    return text


def _masked(found: re.Match[str]) -> str:
    kept = found.group("key") or found.group("parameter") or found.group("header") or found.group("bearer") or ""
    return kept + MASK


def _add_request_id(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    if "request_id" not in event:
        record = current_record()
        if record is not None:
            event["request_id"] = record.request_id
    return event


def _drop_unlogged(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    for name in _UNLOGGED_FIELDS:
        event.pop(name, None)
    return event


def _json(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str).decode("utf-8")


class _Redacting:
    """The last processor: the rendered line, masked."""

    def __init__(self, renderer: Processor) -> None:
        self._renderer = renderer

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> str:
        rendered = self._renderer(logger, method, event)
        return redact(rendered if isinstance(rendered, str) else str(rendered))


def _shared_processors() -> list[Processor]:
    return [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_id,
    ]


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """structlog's formatter, with a short way for records that carry their fields whole (`EVENT_FIELDS`)."""

    def __init__(self, *, renderer: Processor, exceptions: list[Processor]) -> None:
        self._final = _Redacting(renderer)
        super().__init__(
            foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder(), _drop_unlogged],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *exceptions, self._final],
        )

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__.get(EVENT_FIELDS)
        if not isinstance(fields, dict) or record.exc_info:
            return super().format(record)
        # One line per request: built straight from its fields (no copy of the record, no chain of processors).
        moment = datetime.fromtimestamp(record.created, UTC).replace(tzinfo=None).isoformat() + "Z"
        level = record.levelname.lower()
        event = {"event": record.msg, "level": level, "logger": record.name, "timestamp": moment, **fields}
        return self._final(None, level, event)


def formatter(*, json: bool) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every log line: JSON objects, or readable text."""
    if json:
        return _Formatter(
            renderer=structlog.processors.JSONRenderer(serializer=_json),
            exceptions=[structlog.processors.format_exc_info],
        )
    return _Formatter(renderer=structlog.dev.ConsoleRenderer(colors=False), exceptions=[])


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Every logger of the process writes through `formatter` to `stream` (stderr) at `settings.log_level`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(json=settings.json_logs))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    logging.captureWarnings(True)  # a Python warning is a log line too (logger py.warnings), not raw text on stderr
    # No line shows the process's or thread's name: not looked up for every record.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # their own handlers would write plain text
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
