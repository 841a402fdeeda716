"""The one SNMP socket, opened once for thousands of first polls that want it at once.

At the start of an agent with 30,000 devices, a thousand first polls asked for the
socket while it opened. Behind a lock they were let through one per loop round, and with
the loop busy that took over 50 s: polls cut off as timeouts, devices told as not
answering. Counted here in loop rounds, not seconds: the same on any machine.
"""
from __future__ import annotations

import asyncio

from collectors.snmp.engine import EngineHolder
from collectors.snmp.udp import UdpDispatcher

CALLERS = 2_000


async def _rounds_until_done(tasks: list[asyncio.Task[UdpDispatcher]]) -> int:
    """Loop rounds (one `sleep(0)` each) until every task is done."""
    rounds = 0
    while not all(task.done() for task in tasks):
        await asyncio.sleep(0)
        rounds += 1
    return rounds


def test_two_thousand_first_callers_share_one_opening_in_a_few_loop_rounds() -> None:
    async def scenario() -> tuple[int, set[int]]:
        holder = EngineHolder()
        tasks = [asyncio.ensure_future(holder.dispatcher()) for _ in range(CALLERS)]
        rounds = await _rounds_until_done(tasks)
        opened = {id(task.result()) for task in tasks}
        local = tasks[0].result().transport
        assert local is not None and local.get_extra_info("sockname")[0] == "0.0.0.0"
        await holder.close()
        return rounds, opened

    rounds, opened = asyncio.run(scenario())
    assert len(opened) == 1                 # one socket for all of them
    assert rounds < 20, rounds              # a lock takes about one round per caller


def test_a_first_caller_cut_short_does_not_cancel_the_opening_for_the_others() -> None:
    async def scenario() -> tuple[bool, int]:
        holder = EngineHolder()
        first = asyncio.ensure_future(holder.dispatcher())
        await asyncio.sleep(0)              # the first caller has started the opening
        others = [asyncio.ensure_future(holder.dispatcher()) for _ in range(10)]
        first.cancel()                      # as a poll's deadline would
        await asyncio.gather(*others)
        again = await holder.dispatcher()
        opened = {id(task.result()) for task in others} | {id(again)}
        await holder.close()
        return first.cancelled(), len(opened)

    cancelled, sockets = asyncio.run(scenario())
    assert cancelled
    assert sockets == 1
