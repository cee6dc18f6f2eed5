"""ASGI middleware that logs HTTP requests into ``web_requests`` (telemetry plan, Task 3).

Pure ASGI (no framework import), so it wraps any Starlette or FastAPI app::

    app.add_middleware(TelemetryMiddleware, collector=tc)          # Starlette / FastAPI
    app = TelemetryMiddleware(app, collector=tc, path_prefix="/api/")

For each HTTP request whose path starts with ``path_prefix`` it records endpoint (the path),
method, query parameters (``params_json``; a repeated key keeps its list of values), response
time in ms (``time.perf_counter`` from the call to the end of the response body), status code,
``ok`` (status < 400) and the ``X-Correlation-ID`` request header when present. An exception
in the app is recorded as status 500 and re-raised.
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable, MutableMapping
from urllib.parse import parse_qs

from .collector import TelemetryCollector, get_collector

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TelemetryMiddleware:
    """Log every matching HTTP request to ``collector.log_web_request``.

    Args:
        app: the wrapped ASGI app.
        collector: default :func:`get_collector` (resolved at the first request).
        path_prefix: only paths starting with this are logged (``"/"`` for all).
    """

    def __init__(self, app: ASGIApp, collector: TelemetryCollector | None = None,
                 path_prefix: str = "/api/") -> None:
        self.app = app
        self.collector = collector
        self.path_prefix = path_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or not str(scope.get("path", "")).startswith(self.path_prefix):
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed_ms = (time.perf_counter() - t0) * 1000.0
            qs = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            params = {k: (v[0] if len(v) == 1 else v) for k, v in qs.items()} or None
            cid = None
            for k, v in scope.get("headers") or []:
                if k.lower() == b"x-correlation-id":
                    cid = v.decode("latin-1")
            c = self.collector or get_collector()
            c.log_web_request(endpoint=str(scope["path"]), method=str(scope.get("method", "GET")),
                              params=params, response_ms=elapsed_ms, status_code=status["code"],
                              ok=status["code"] < 400, correlation_id=cid)
