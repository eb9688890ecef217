"""Log lines: JSON objects (or text) for every logger, the request id of the request being served, the access line of
a record, and secrets masked whatever wrote them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.edge.access_log import MAX_OPERATION_CHARS, AccessLog, access_fields, sanitised_operation
from gateway.logs import MASK, configure_logging, formatter, redact
from gateway.request_record import RequestRecord, UpstreamCall, recording
from gateway.settings import Settings

KEY = "pgw_0123456789ab_" + "S3cr3t" * 6


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the `test.logs` logger and the access logger write, through the JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(json=True))
    loggers = [logging.getLogger("test.logs"), logging.getLogger("test.access")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)
        logger.propagate = True


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def served_record() -> RequestRecord:
    record = RequestRecord("req-7", "POST", "/graphql")
    record.status, record.duration_s = 200, 0.0123
    record.caller("0123456789ab", "standard")
    record.operation, record.cost, record.response_cache = "Tenders", 3, "miss"
    record.upstream_calls += [UpstreamCall("sam", "ok", 0.01, sent=True), UpstreamCall("ita", "cache_hit", 0, False)]
    record.errors([{"extensions": {"code": "UPSTREAM_TIMEOUT"}}])
    return record


def test_a_stdlib_line_is_one_json_object_with_its_fields_and_the_request_id(lines: io.StringIO) -> None:
    log = logging.getLogger("test.logs")
    log.info("plain %s", "text")
    with recording(RequestRecord("req-1")):
        log.warning("cache full", extra={"entries": 3})
    first, second = parsed(lines)
    assert first["event"] == "plain text"
    assert (first["level"], first["logger"]) == ("info", "test.logs")
    assert first["timestamp"].endswith("Z")
    assert "request_id" not in first
    assert (second["event"], second["level"], second["entries"], second["request_id"]) == (
        "cache full",
        "warning",
        3,
        "req-1",
    )


def test_an_exception_is_one_json_line_with_its_traceback_and_no_secret(lines: io.StringIO) -> None:
    try:
        raise ValueError(f"upstream said no to https://api.sam.test/search?api_key=abc123&q=x with {KEY}")
    except ValueError:
        logging.getLogger("test.logs").exception("call failed")
    (line,) = parsed(lines)
    assert "Traceback" in line["exception"]
    assert "ValueError" in line["exception"]
    assert "abc123" not in line["exception"]
    assert "S3cr3t" not in line["exception"]
    assert "pgw_0123456789ab_" + MASK in line["exception"]


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"Authorization: Bearer {KEY}", "Authorization: " + MASK),
        ("headers {'X-Api-Key': 'k-123456', 'Accept': 'x'}", "headers {'X-Api-Key': '" + MASK + "', 'Accept': 'x'}"),
        ("GET /v1/search?api_key=DEMO_KEY&limit=1", "GET /v1/search?api_key=" + MASK + "&limit=1"),
        ("token=abc.def password=hunter2", "token=" + MASK + " password=" + MASK),
        ("sent bearer eyJhbGciOi.x.y", "sent bearer " + MASK),
        ("key id 0123456789ab, tier free", "key id 0123456789ab, tier free"),
    ],
)
def test_secret_shaped_text_is_masked(text: str, kept: str) -> None:
    assert redact(text) == kept


def test_the_access_line_holds_the_records_fields_and_nothing_else(lines: io.StringIO) -> None:
    AccessLog(logging.getLogger("test.access")).write(served_record())
    (line,) = parsed(lines)
    assert line == {
        "event": "request",
        "level": "info",
        "logger": "test.access",
        "timestamp": line["timestamp"],
        "request_id": "req-7",
        "method": "POST",
        "path": "/graphql",
        "status": 200,
        "duration_ms": 12.3,
        "key_id": "0123456789ab",
        "tier": "standard",
        "operation": "Tenders",
        "cost": 3,
        "response_cache": "miss",
        "upstream_calls": 1,
        "upstreams": ["sam:ok", "ita:cache_hit"],
        "error_codes": ["UPSTREAM_TIMEOUT"],
    }


def test_the_access_line_is_masked_too(lines: io.StringIO) -> None:
    record = served_record()
    record.path = f"/graphql/{KEY}"
    AccessLog(logging.getLogger("test.access")).write(record)
    assert "S3cr3t" not in lines.getvalue()


def test_operation_names_are_logged_only_as_graphql_names_of_bounded_length() -> None:
    assert sanitised_operation("Tenders_2") == "Tenders_2"
    assert sanitised_operation(None) is None
    assert sanitised_operation('x"\n{evil}') == "x___evil_"
    long = sanitised_operation("A" * 10_000)
    assert long is not None
    assert len(long) == MAX_OPERATION_CHARS
    record = served_record()
    record.path = "/" + "p" * 1_000
    assert len(access_fields(record)["path"]) < 250


def test_text_lines_for_people_and_the_same_masking() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(json=False))
    record = logging.LogRecord("test.text", logging.INFO, __file__, 1, "sent %s", (KEY,), None)
    handler.emit(record)
    access = logging.LogRecord("gateway.access", logging.INFO, __file__, 1, "request", (), None)
    access.event_fields = access_fields(served_record())
    handler.emit(access)
    first, second = stream.getvalue().splitlines()
    assert "sent pgw_0123456789ab_" + MASK in first
    assert not first.startswith("{")
    assert "request_id=req-7" in second
    assert "upstream_calls=1" in second


def test_configure_logging_routes_every_logger_through_one_json_handler() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    try:
        configure_logging(Settings(log_format="json", log_level="warning"), stream)
        logging.getLogger("uvicorn.error").warning("Started server process")
        logging.getLogger("gateway.access").info("dropped: below the level")
        (line,) = parsed(stream)
        assert (line["logger"], line["event"], line["level"]) == ("uvicorn.error", "Started server process", "warning")
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging.captureWarnings(False)


def test_the_format_follows_the_profile_unless_set() -> None:
    assert Settings(profile="prod").json_logs
    assert not Settings(profile="dev").json_logs
    assert Settings(profile="dev", log_format="json").json_logs
    assert not Settings(profile="prod", log_format="text").json_logs
