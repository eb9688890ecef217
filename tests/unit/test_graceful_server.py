"""The server's stop: drain first (not ready, still serving), then uvicorn's graceful shutdown; the grace period
is a setting longer than the request deadline."""

from __future__ import annotations

import asyncio
import gc
import signal
import socket

import pytest
import uvicorn
from starlette.applications import Starlette

from gateway.server import YOUNG_GC_THRESHOLD, GracefulServer
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


class _Observed(GracefulServer):
    """Says when its start-up is over."""

    def __init__(self) -> None:
        config = uvicorn.Config(Starlette(), host="127.0.0.1", port=0, lifespan="off", log_config=None)
        super().__init__(config, drain_delay_s=0, on_drain=lambda: None)
        self.up = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.up.set()


async def test_once_started_the_youngest_generation_is_collected_less_often() -> None:
    thresholds = gc.get_threshold()
    server = _Observed()
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            await server.up.wait()
        assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, *thresholds[1:])
        assert thresholds[0] < YOUNG_GC_THRESHOLD
    finally:
        server.should_exit = True
        await serving
        gc.set_threshold(*thresholds)
