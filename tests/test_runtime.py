"""The serving process's garbage-collector handling (core/runtime.py)."""

from __future__ import annotations

import asyncio
import gc

from core.runtime import without_collections_until_woken


async def test_the_collector_is_held_while_the_woken_tasks_take_their_first_step() -> None:
    queues: list[asyncio.Queue[str]] = [asyncio.Queue() for _ in range(3)]
    seen: list[bool] = []

    async def subscriber(queue: asyncio.Queue[str]) -> None:
        await queue.get()
        seen.append(gc.isenabled())  # the step that sends the event
        await queue.get()
        seen.append(gc.isenabled())

    tasks = [asyncio.create_task(subscriber(queue)) for queue in queues]
    await asyncio.sleep(0)
    assert gc.isenabled()
    without_collections_until_woken(
        asyncio.get_running_loop(), lambda: [q.put_nowait("paid") for q in queues]
    )
    assert not gc.isenabled()
    await asyncio.sleep(0)
    assert seen == [False, False, False]
    assert gc.isenabled()  # back on once they have run
    for queue in queues:
        queue.put_nowait("shipped")
    await asyncio.gather(*tasks)
    assert seen == [False] * 3 + [True] * 3


async def test_nested_holds_release_once_and_a_collector_that_was_off_stays_off() -> None:
    loop = asyncio.get_running_loop()
    without_collections_until_woken(loop, lambda: without_collections_until_woken(loop, lambda: None))
    await asyncio.sleep(0)
    assert gc.isenabled()
    gc.disable()
    try:
        without_collections_until_woken(loop, lambda: None)
        await asyncio.sleep(0)
        assert not gc.isenabled()
    finally:
        gc.enable()
