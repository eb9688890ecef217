"""The tolerant upstream readers: `integer`'s fast path for JSON integers reads what the decimal path reads."""

from __future__ import annotations

import pytest

from gateway.upstreams import wire


def _integer_by_decimal(value: object) -> int | None:
    """`integer` as it reads every value: through `amount` (the reference the fast path must equal)."""
    number = wire.amount(value, strict=True)
    if number is None or number.adjusted() >= 18 or number != number.to_integral_value():
        return None
    return int(number)


VALUES: list[object] = [
    0,
    1,
    -1,
    42,
    10**17,
    10**18 - 1,
    10**18,
    -(10**18) + 1,
    -(10**18),
    10**30,
    2**63,
    True,
    False,
    None,
    1.0,
    1.5,
    -3.0,
    1e18,
    "12",
    " 7 ",
    "1,000",
    "null",
    "",
    "x",
    [1],
    {"a": 1},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_integer_reads_every_value_as_the_decimal_path_does(value: object) -> None:
    assert wire.integer({"n": value}, "n") == _integer_by_decimal(value)
    assert wire.integer({"a": {"n": value}}, "a", "n") == _integer_by_decimal(value)


def test_integer_of_a_missing_step_is_none() -> None:
    assert wire.integer({"a": 1}, "a", "n") is None
    assert wire.integer([1], "n") is None
    assert wire.integer({"n": 12}, "n") == 12
