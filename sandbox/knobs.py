"""Knobs of one imitation under `/_sandbox/<upstream>`: GET shows them (and the board's state), PUT merges the keys
given, DELETE restores the defaults. Each knob is a field of a frozen dataclass checked by its own rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, fields, replace
from json import JSONDecodeError
from typing import Any, Protocol, TypeVar

from aiohttp import web

Check = Callable[[str, object], object]
"""Validates one knob's value (its name for the message), answering the value to store; raises KnobError."""

KnobsT = TypeVar("KnobsT")


class KnobError(ValueError):
    """A knob value sent to the control API is malformed."""


def merge_knobs(knobs: KnobsT, data: object, checks: Mapping[str, Check]) -> KnobsT:
    """`knobs` with the keys of `data` replaced, each value checked; unknown keys are an error."""
    if not isinstance(data, dict):
        raise KnobError("the knobs are a JSON object")
    known = {field.name for field in fields(knobs)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise KnobError(f"unknown knobs: {', '.join(unknown)}")
    return replace(knobs, **{name: checks[name](name, value) for name, value in data.items()})  # type: ignore[type-var]


def knobs_json(knobs: object) -> dict[str, Any]:
    return asdict(knobs)  # type: ignore[call-overload, no-any-return]


def boolean(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise KnobError(f"{name} must be a boolean")
    return value


def share(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise KnobError(f"{name} must be a number between 0 and 1")
    return float(value)


def positive_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise KnobError(f"{name} must be a positive number")
    return float(value)


def integer_at_least(minimum: int, *, nullable: bool = False) -> Check:
    def check(name: str, value: object) -> int | None:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            suffix = " or null" if nullable else ""
            raise KnobError(f"{name} must be an integer of at least {minimum}{suffix}")
        return value

    return check


def one_of(*choices: object) -> Check:
    def check(name: str, value: object) -> object:
        if not any(type(value) is type(choice) and value == choice for choice in choices):
            raise KnobError(f"{name} must be one of {', '.join(map(repr, choices))}")
        return value

    return check


class KnobBoard(Protocol):
    def state(self) -> dict[str, Any]:
        """The knobs (under "knobs") and whatever else the imitation shows about itself."""
        ...

    def update(self, data: object) -> None:
        """Merge knob values; KnobError when one is malformed (nothing changes then)."""
        ...

    def reset(self) -> None: ...


def add_knob_routes(app: web.Application, path: str, board: KnobBoard) -> None:
    async def get_knobs(request: web.Request) -> web.Response:
        del request
        return web.json_response(board.state())

    async def put_knobs(request: web.Request) -> web.Response:
        try:
            board.update(await request.json())
        except (JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"error": "body is not JSON"}, status=400)
        except KnobError as failure:
            return web.json_response({"error": str(failure)}, status=400)
        return web.json_response(board.state())

    async def delete_knobs(request: web.Request) -> web.Response:
        del request
        board.reset()
        return web.json_response(board.state())

    app.router.add_get(path, get_knobs)
    app.router.add_put(path, put_knobs)
    app.router.add_delete(path, delete_knobs)
