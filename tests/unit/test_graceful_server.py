"""The server's stop: drain first (not ready, still serving), then uvicorn's graceful shutdown; the grace period
is a setting longer than the request deadline."""

from __future__ import annotations

import asyncio
import signal

import pytest
import uvicorn
from starlette.applications import Starlette

from gateway.server import GracefulServer
from gateway.settings import Settings, SettingsError


def _server(drain_delay_s: float) -> tuple[GracefulServer, list[str]]:
    drained: list[str] = []
    server = GracefulServer(
        uvicorn.Config(Starlette()), drain_delay_s=drain_delay_s, on_drain=lambda: drained.append("x")
    )
    return server, drained


async def test_without_a_drain_delay_a_signal_drains_and_stops_at_once() -> None:
    server, drained = _server(0)
    server.handle_exit(signal.SIGTERM, None)
    assert drained == ["x"]
    assert server.should_exit
    assert await server.on_tick(1)


async def test_with_a_drain_delay_the_process_serves_until_it_ends() -> None:
    server, drained = _server(0.2)
    server.handle_exit(signal.SIGTERM, None)
    assert drained == ["x"]
    assert not server.should_exit
    assert not await server.on_tick(1)  # still serving, not ready
    await asyncio.sleep(0.25)
    assert await server.on_tick(2)
    assert drained == ["x"]  # drained once


async def test_a_second_signal_during_the_drain_stops_at_once() -> None:
    server, drained = _server(60)
    server.handle_exit(signal.SIGTERM, None)
    assert not await server.on_tick(1)
    server.handle_exit(signal.SIGTERM, None)
    assert server.should_exit
    assert drained == ["x"]


def test_the_grace_period_outlasts_the_request_deadline() -> None:
    assert Settings().shutdown_grace_period_s == 15.0  # the 10 s deadline and 5 s
    assert Settings.from_env({"GATEWAY_REQUEST_DEADLINE_S": "20"}).shutdown_grace_period_s == 25.0
    assert Settings.from_env({"GATEWAY_SHUTDOWN_GRACE_S": "12"}).shutdown_grace_period_s == 12.0
    for too_short in ("10", "3", "-1"):
        with pytest.raises(SettingsError, match="must be longer than GATEWAY_REQUEST_DEADLINE_S"):
            Settings.from_env({"GATEWAY_SHUTDOWN_GRACE_S": too_short})
    with pytest.raises(SettingsError, match="DRAIN_DELAY_S"):
        Settings.from_env({"GATEWAY_SHUTDOWN_DRAIN_DELAY_S": "-1"})
