"""uvicorn, stopping gracefully: on SIGTERM (or SIGINT) the process first drains, then stops accepting and lets every
request in flight finish, then closes what the lifespan opened, and exits 0.

1. Draining (GATEWAY_SHUTDOWN_DRAIN_DELAY_S, 0 by default): /readyz answers 503 at once (`on_drain`) while the
   process still accepts and serves, so that load balancers take it out of rotation before it stops listening.
2. uvicorn's graceful shutdown: the listening sockets close, idle keep-alive connections close, busy ones close after
   their answer; requests in flight have the grace period (GATEWAY_SHUTDOWN_GRACE_S, longer than the request
   deadline, so every one of them is answered) before uvicorn cancels what is left.
3. The lifespan closes the upstream sessions, Redis clients and mirrors.

A second signal during the drain starts step 2 at once. uvicorn re-raises the signal it caught once it has shut
down (so that the default handler kills the process); a graceful stop is a success here, so the process exits 0.
"""

from __future__ import annotations

import contextlib
import gc
import signal
import socket
import time
from collections.abc import Callable, Generator
from types import FrameType

import uvicorn

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


# A request allocates tens of thousands of objects (decoded upstream JSON, models, the answer), nearly all freed by
# reference counting: collecting the youngest generation every 700 allocations (CPython's default) walks them dozens
# of times per request and finds no cycle. Older generations keep their thresholds.
YOUNG_GC_THRESHOLD = 20_000


def _ignore(signum: int, frame: FrameType | None) -> None:
    del signum, frame


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, drain_delay_s: float, on_drain: Callable[[], None]) -> None:
        super().__init__(config)
        self.drain_delay_s = drain_delay_s
        self._on_drain = on_drain
        self._drain_ends_at: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain_ends_at is None and not self.should_exit:
            self._on_drain()
            if self.drain_delay_s > 0:
                self._drain_ends_at = time.monotonic() + self.drain_delay_s
                return  # main_loop's next tick after the delay starts the shutdown
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """After the app's start-up (which froze its long-lived objects out of the collector's walks)."""
        gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])
        await super().startup(sockets)

    async def on_tick(self, counter: int) -> bool:
        if self._drain_ends_at is not None and time.monotonic() >= self._drain_ends_at:
            self.should_exit = True
        return await super().on_tick(counter)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """uvicorn's, with the signals it re-raises after its shutdown landing in a handler that ignores them."""
        try:
            previous = {sig: signal.signal(sig, _ignore) for sig in HANDLED_SIGNALS}
        except ValueError:  # not the main thread: uvicorn captures nothing either
            yield
            return
        try:
            with super().capture_signals():
                yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
