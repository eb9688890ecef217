"""A JSON response written by orjson: the bytes starlette's `JSONResponse` writes (compact, UTF-8, not ASCII-escaped)
for every GraphQL answer, in a fraction of the time; anything orjson will not write (an integer beyond 64 bits) is
written by starlette's own `json.dumps`."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as StarletteJSONResponse


class JSONResponse(StarletteJSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:
            return super().render(content)
