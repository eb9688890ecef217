"""Pure ASGI middleware, the outermost of the gateway's own: an HTTP request's steps at the edge, in one layer.

The steps, in this order (each one's logic lives in its own module):
1. its id and record (`gateway.edge.request_id`): the id echoed on the answer, the record current while the request
   is served and handed to the observers once the answer has gone out;
2. CORS, when configured (Starlette's middleware, given the rest of the steps as its app);
3. its size (`gateway.edge.request_size`): refused over the limits, its body counted when no one length is declared;
4. on /graphql, its caller (`gateway.edge.access`): identified, given a place, counted against its rate, or refused;
5. its answer compressed as the client accepts (`gateway.edge.compression`).
The answer's start goes out through one `send` wrapper that adds the `RateLimit` headers of an admitted caller and
then the request id, after compression has changed it (with CORS, CORS adds its headers in between, and the request
id is added by a wrapper outside CORS). The refusals of steps 3 and 4 are not compressed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.access import AccessControl, Admission, refusal_media_type
from gateway.edge.compression import Compression
from gateway.edge.refusals import Refusal, Refused
from gateway.edge.request_id import Observer, begin_request, failed, observe, stamp
from gateway.edge.request_size import BodyTooLarge, RequestSizeLimits, refuse
from gateway.request_record import RequestRecord, current_record, recording

Cors = Callable[[ASGIApp], ASGIApp]  # the CORS middleware, given the app it wraps


class EdgePipeline:
    def __init__(
        self,
        app: ASGIApp,
        *,
        sizes: RequestSizeLimits,
        access: AccessControl,
        compression: Compression,
        observers: Iterable[Observer] = (),
        cors: Cors | None = None,
    ) -> None:
        self.app = app
        self._sizes = sizes
        self._access = access
        self._compression = compression
        self._observers = tuple(observers)
        self._cors_app = None if cors is None else cors(self._checked)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record, encoded_id = begin_request(scope)
        with recording(record):
            try:
                if self._cors_app is None:
                    await self._checked(scope, receive, send, (record, encoded_id))
                else:
                    await self._cors_app(scope, receive, _Outgoing(send, (record, encoded_id)).send)
            except BaseException:
                failed(record)
                raise
            finally:
                observe(record, self._observers)

    async def _checked(
        self, scope: Scope, receive: Receive, send: Send, stamped_with: tuple[RequestRecord, bytes] | None = None
    ) -> None:
        """Steps 3 to 5; `stamped_with`: the record and id the answer's start is stamped with here, if not outside."""
        out = _Outgoing(send, stamped_with)
        verdict = self._sizes.check(scope)
        if isinstance(verdict, Refusal):
            await refuse(scope, receive, out.send, verdict)
        elif verdict is None:
            await self._admitted(scope, receive, out)
        else:
            try:
                await self._admitted(scope, self._sizes.counting(receive), out)
            except BodyTooLarge:
                if out.started:
                    raise
                # The size limit's refusal, outside access: without the RateLimit headers of the caller admitted.
                await refuse(scope, receive, _Outgoing(send, stamped_with).send, self._sizes.too_large)

    async def _admitted(self, scope: Scope, receive: Receive, out: _Outgoing) -> None:
        if not self._access.guards(scope):
            await self.app(scope, receive, self._compression.sender(scope, out.send))
            return
        record = current_record()
        try:
            out.admission = await self._access.admit(scope, record)
        except Refused as refused:
            await refused.refusal.send(out.send, refusal_media_type(scope))
            return
        try:
            await self.app(scope, receive, self._compression.sender(scope, out.send))
        finally:
            out.admission.leave(record)


class _Outgoing:
    """The answer on its way to the server: its start given the `RateLimit` headers (an admitted caller's) and the
    request id (when stamped here)."""

    __slots__ = ("_send", "_stamped_with", "admission", "started")

    def __init__(self, send: Send, stamped_with: tuple[RequestRecord, bytes] | None) -> None:
        self._send = send
        self._stamped_with = stamped_with
        self.admission: Admission | None = None
        self.started = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if self.admission is not None:
                message["headers"] = [*message.get("headers", []), *await self.admission.header_fields()]
            self.started = True
            if self._stamped_with is not None:
                stamp(message, *self._stamped_with)
        await self._send(message)
