"""The console's login limiter against a burst (review of issue 16): a real `lifeline run`
with a users file, and wrong logins sent all at once from one address. The limiter must
count a login when it starts, not when its (slow, threaded) argon2 check ends, or every
login of the burst gets its own guess."""
from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.web.users import entry_line

from kits.waiting import eventually
from peers.agent import AgentProcess, agent_config
from peers.ports import free_tcp_port

pytestmark = pytest.mark.peer

ATTEMPTS = 3
BURST = 24


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp: Path = tmp_path_factory.mktemp("login-burst")
    users = tmp / "users"
    users.write_text(entry_line("alice", "correct horse 42") + "\n", encoding="utf-8")
    port = free_tcp_port()
    config = agent_config(tmp / "agent", "", agent_extra=f"  http_listen: 127.0.0.1:{port}\n",
                          top_extra=f"console: {{users_file: {users}, login_attempts: "
                                    f"{ATTEMPTS}}}\n")
    agent = AgentProcess(config).start()
    try:
        eventually(lambda: asyncio.run(_status(port, "GET", "/healthz")),
                   "the console answering")
        yield port
    finally:
        agent.stop()


async def _status(port: int, method: str, path: str, body: bytes = b"",
                  headers: str = "") -> int | None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None
    try:
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: "
                     f"{len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        await writer.drain()
        return int((await reader.read()).split()[1])
    finally:
        writer.close()


async def _burst(port: int) -> list[int | None]:
    def login(n: int) -> bytes:
        return urllib.parse.urlencode({"csrf": "t", "user": "alice",
                                       "password": f"guess {n}", "next": "/"}).encode()
    headers = "Cookie: ll_csrf=t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    return list(await asyncio.gather(*(_status(port, "POST", "/login", login(n), headers)
                                       for n in range(BURST))))


def test_a_burst_of_logins_gets_only_the_allowed_guesses(console: int) -> None:
    codes = asyncio.run(_burst(console))
    assert codes.count(401) == ATTEMPTS, codes      # each an argon2 check of a guess
    assert codes.count(429) == BURST - ATTEMPTS, codes
