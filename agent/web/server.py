"""The console's HTTP server: uvicorn serving the app (app.py) inside the agent's own
asyncio loop. The socket is bound in `open` (a port in use is the agent's start error,
before its first poll), TLS comes from `console.tls_cert_file`/`tls_key_file`, and
uvicorn's own signal handling and logging setup are left out: the agent handles SIGTERM
and configured its logs already."""
from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl

import uvicorn

from agent.web.app import build_app, build_console
from agent.web.source import AgentView
from config.schema import parse_http_listen

SHUTDOWN_SECONDS = 5


class ConsoleError(Exception):
    """The console cannot start; the message says what stood in the way."""


class ConsoleServer:
    def __init__(self, view: AgentView, version: str) -> None:
        self._view = view
        self._version = version
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        assert self._socket is not None
        return int(self._socket.getsockname()[1])

    async def open(self) -> None:
        """Binds the socket and starts serving. Raises ConsoleError."""
        from agent.web.users import UsersFileError

        config = self._view.config()
        listen = config.agent.http_listen or ""
        address = parse_http_listen(listen)
        if address is None:     # the loader refuses these; a guard for direct callers
            raise ConsoleError(f"agent.http_listen: not an IP HOST:PORT: {listen!r}")
        settings = config.console
        try:
            console = build_console(self._view, self._version)
        except UsersFileError as exc:
            raise ConsoleError(str(exc)) from None
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise ConsoleError(f"agent.http_listen {listen}: {exc.strerror or exc}") from None
        self._socket = sock
        uv_config = uvicorn.Config(
            build_app(console), log_config=None, access_log=False, lifespan="off",
            proxy_headers=False, server_header=False,
            timeout_graceful_shutdown=SHUTDOWN_SECONDS,
            ssl_certfile=str(settings.tls_cert_file) if settings.tls_cert_file else None,
            ssl_keyfile=str(settings.tls_key_file) if settings.tls_key_file else None)
        try:
            uv_config.load()
        except (OSError, ssl.SSLError) as exc:
            self._close_socket()
            raise ConsoleError(f"console TLS: cannot load {settings.tls_cert_file} / "
                               f"{settings.tls_key_file}: {getattr(exc, 'strerror', None) or exc}"
                               ) from None
        console.metrics.delivery.start_from_now()
        server = uvicorn.Server(uv_config)
        server.lifespan = uv_config.lifespan_class(uv_config)
        await server.startup(sockets=[sock])
        self._server = server
        self._task = asyncio.create_task(server.main_loop(), name="lifeline-console")

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def close(self) -> None:
        if self._server is None:
            self._close_socket()
            return
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._server.shutdown(sockets=[self._socket] if self._socket else None)
        self._server = None
        self._close_socket()
