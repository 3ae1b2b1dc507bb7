"""Benchmark: order-status fan-out to many WebSocket subscribers on one server process.

Starts `python main.py serve` (one worker, embedded PostgreSQL in a fresh DATA_DIR, sandbox
payments), opens N WebSocket connections, subscribes each to one order per round, then sends
one Stripe-signed `checkout.session.completed` webhook and measures, for every subscriber,
the time from sending the webhook to receiving the PAID event. Also reports the server's
memory per subscriber. Run: .venv/bin/python bench/subscribers.py [--subscribers 1000]

With `--workers 2` the subscribers and the webhook land on different server processes, so the
latency includes a change heard from another process through pg_notify (the memory figures are
then those of the parent process only).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_subscriber_benchmark"
FOLLOW = (
    "subscription($id: ID!, $token: String) { orderStatusChanged(orderId: $id, orderToken: $token)"
    " { to at order { id status } } }"
)
ADDRESS = {
    "name": "Bench",
    "line1": "1 Loop Rd",
    "city": "Springfield",
    "postalCode": "12345",
    "country": "US",
}


IDLE_SECONDS = 2.0  # the idle server's CPU rate is measured for this long before each webhook


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(hard, 65536)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, target))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sign(payload: str) -> str:
    stamp = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def new_order(client: httpx.AsyncClient, variant_id: str) -> dict[str, Any]:
    add = "mutation($v: ID!) { cartLinesAdd(lines: [{variantId: $v, quantity: 1}]) { cart { token } } }"
    token = (await gql(client, add, {"v": variant_id}))["cartLinesAdd"]["cart"]["token"]
    checkout = """mutation($t: String, $a: AddressInput!) { checkoutCreate(cartToken: $t, email: "b@example.com",
        shippingAddress: $a) { order { id number total { amount currency } } orderToken checkoutUrl userErrors { code } } }"""
    result = (await gql(client, checkout, {"t": token, "a": ADDRESS}))["checkoutCreate"]
    assert not result["userErrors"], result
    return result


def paid_event(order: dict[str, Any], order_pk: int, session_id: str) -> str:
    return orjson.dumps(
        {
            "id": f"evt_bench_{time.time_ns()}",
            "object": "event",
            "type": "checkout.session.completed",
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": session_id,
                    "object": "checkout.session",
                    "amount_total": order["order"]["total"]["amount"],
                    "currency": order["order"]["total"]["currency"],
                    "client_reference_id": str(order_pk),
                    "metadata": {"order_id": str(order_pk)},
                    "payment_status": "paid",
                    "payment_intent": f"pi_bench_{order_pk}",
                }
            },
        }
    ).decode()


def client_address(number: int) -> str:
    """A client address of its own per subscriber (X-Forwarded-For, believed from 127.0.0.1): guests
    following an order are capped per address, and N distinct shoppers come from N addresses."""
    return f"10.{number // 62500 % 250}.{number // 250 % 250}.{number % 250 + 1}"


async def open_socket(ws_url: str, number: int = 0) -> ClientConnection:
    connection = await connect(
        ws_url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_queue=None,
        additional_headers={"X-Forwarded-For": client_address(number)},
        open_timeout=120,
        ping_interval=None,
    )
    await connection.send(orjson.dumps({"type": "connection_init", "payload": {}}).decode())
    assert orjson.loads(await connection.recv())["type"] == "connection_ack"
    return connection


async def subscribe(connection: ClientConnection, operation: str, variables: dict[str, Any]) -> None:
    message = {"type": "subscribe", "id": operation, "payload": {"query": FOLLOW, "variables": variables}}
    await connection.send(orjson.dumps(message).decode())
    first = orjson.loads(await connection.recv())
    assert first["type"] == "next", first


async def wait_paid(connection: ClientConnection) -> float:
    while True:
        message = orjson.loads(await connection.recv())
        if message["type"] == "next" and message["payload"]["data"]["orderStatusChanged"]["to"] == "PAID":
            return time.perf_counter()


async def _subscribe_all(sockets: list[ClientConnection], operation: str, variables: dict[str, Any]) -> None:
    subscribing = asyncio.Semaphore(32)  # each start reads the database: stay within its pool

    async def subscribed(ws: ClientConnection) -> None:
        async with subscribing:
            await subscribe(ws, operation, variables)

    await asyncio.gather(*(subscribed(ws) for ws in sockets))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def full_collections(client: httpx.AsyncClient) -> int | None:
    """The server's full (generation 2) garbage collections so far, from GET /metrics (prometheus-client's
    GC collector; None when it is not there, e.g. with several workers). At 10,000 subscribers the
    server holds about 3 million objects and one full collection takes about a second of CPU: one
    falling between the webhook and the last event is most of that event's latency."""
    try:
        text = (await client.get("/metrics")).text
    except httpx.HTTPError:
        return None
    for line in text.splitlines():
        if line.startswith('python_gc_collections_total{generation="2"}'):
            return int(float(line.rsplit(" ", 1)[1]))
    return None


async def _call_count(path: Path) -> tuple[int, list[str]]:
    """Python calls in the cProfile stats the server wrote (bench/call_counts), and the most called."""
    import pstats

    for _ in range(600):
        if await asyncio.to_thread(path.exists):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # written whole
    stats = (await asyncio.to_thread(pstats.Stats, str(path))).stats  # type: ignore[attr-defined]
    total = sum(entry[1] for entry in stats.values())
    top = sorted(stats.items(), key=lambda item: -item[1][1])[:25]
    return total, [f"{entry[1]:>9} {Path(key[0]).name}:{key[1]} {key[2]}" for key, entry in top]


def start_profile(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy (not a dependency: `.venv/bin/pip install py-spy`) recording the server, raw stacks."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy") or "py-spy"
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profile(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)


async def run(
    subscribers: int, rounds: int, workers: int = 1, profile: Path | None = None, calls: bool = False
) -> dict[str, Any]:
    """`profile`: a file for py-spy's raw stacks of the server during the event rounds only;
    `calls`: count the server's Python calls per subscriber with cProfile (slows the rounds down:
    their latency then means nothing)."""
    raise_fd_limit()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-subscribers-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "STRIPE_SECRET_KEY"}}
    env.update(
        {
            "DATA_DIR": str(data_dir),
            "LOG_LEVEL": "warning",
            "STRIPE_WEBHOOK_SECRET": SECRET,
            "WORKERS": str(workers),
            "RATE_LIMIT_CHECKOUT": "off",
            "RATE_LIMIT_CART": "off",
            # Thousands of sockets opening at once: connection_init may wait its turn.
            "WS_INIT_TIMEOUT": "300",
            # Every round's order is opened up front, unpaid, by one shopper.
            "ORDER_MAX_OPEN": "100000",
        }
    )
    calls_out = Path(data_dir) / "calls"
    if calls:
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT / "bench" / "call_counts"), env.get("PYTHONPATH")])
        )
        env["BENCH_CALLS_OUT"] = str(calls_out)
    server = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(port)], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    sockets: list[ClientConnection] = []
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            for _ in range(600):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            process = psutil.Process(server.pid)
            if (
                workers == 1 and len(os.sched_getaffinity(0)) > 1
            ):  # as scripts/bench: server CPU 0, clients CPU 1
                for thread in process.threads():
                    os.sched_setaffinity(thread.id, {0})
                os.sched_setaffinity(0, {1})
            products = await gql(
                client,
                "{ products(first: 20, filter: {inStock: true}) { edges { node { variants { id quantityAvailable } } } } }",
            )
            variants = [
                v["id"]
                for e in products["products"]["edges"]
                for v in e["node"]["variants"]
                if v["quantityAvailable"] > 5
            ]
            orders = [await new_order(client, variants[i % len(variants)]) for i in range(rounds)]

            rss_before = process.memory_info().rss
            opening = asyncio.Semaphore(100)

            async def opened(number: int) -> ClientConnection:
                async with opening:
                    return await open_socket(url.replace("http", "ws") + "/graphql", number)

            sockets = list(await asyncio.gather(*(opened(number) for number in range(subscribers))))
            results = []
            cpu: list[float] = []  # server CPU seconds from the webhook to the last event, per round
            # The same net of what the idle server spends meanwhile (keep-alive pings of N sockets).
            net_cpu: list[float] = []
            call_counts: list[tuple[int, list[str]]] = []  # with `calls`: per round
            # The clients' own CPU over the same time (one process): when it is near the latency,
            # the clients, not the server, set the pace.
            client_cpu: list[float] = []
            full_gcs: list[int] = []  # full garbage collections between the webhook and the last event
            for round_number, order in enumerate(orders):
                variables = {"id": order["order"]["id"], "token": order["orderToken"]}
                await _subscribe_all(sockets, str(round_number), variables)
                if round_number == 0:
                    rss_subscribed = process.memory_info().rss
                session_id = order["checkoutUrl"].rsplit("/", 1)[-1]
                order_pk = int(base64.b64decode(order["order"]["id"]).decode().split(":")[1])
                payload = paid_event(order, order_pk, session_id)
                waiting = [asyncio.ensure_future(wait_paid(ws)) for ws in sockets]
                await asyncio.sleep(0.2)
                spy = None
                if profile is not None:
                    spy = start_profile(server.pid, profile.with_suffix(f".{round_number}.txt"))
                    await asyncio.sleep(1.0)  # py-spy attaches
                idle_start, idle_cpu = time.perf_counter(), process.cpu_times()
                await asyncio.sleep(IDLE_SECONDS)
                collections_before = await full_collections(client)
                if calls:
                    server.send_signal(signal.SIGUSR1)
                    await asyncio.sleep(0.5)
                cpu_before = process.cpu_times()
                idle_rate = ((cpu_before.user + cpu_before.system) - (idle_cpu.user + idle_cpu.system)) / (
                    time.perf_counter() - idle_start
                )
                sent, client_cpu_before = time.perf_counter(), time.process_time()
                response = await client.post(
                    "/webhooks/stripe", content=payload, headers={"Stripe-Signature": sign(payload)}
                )
                assert response.status_code == 200, response.text
                arrivals = await asyncio.gather(*waiting)
                client_cpu.append(time.process_time() - client_cpu_before)
                latencies = [(arrival - sent) * 1000 for arrival in arrivals]
                cpu_after = process.cpu_times()
                cpu.append((cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system))
                net_cpu.append(max(0.0, cpu[-1] - idle_rate * max(latencies) / 1000))
                stop_profile(spy)
                if calls:
                    server.send_signal(signal.SIGUSR2)
                    call_counts.append(await _call_count(calls_out.with_suffix(f".{round_number}")))
                collections_after = await full_collections(client)
                if collections_before is not None and collections_after is not None:
                    full_gcs.append(collections_after - collections_before)
                results.append(latencies)
                await asyncio.gather(
                    *(
                        ws.send(orjson.dumps({"type": "complete", "id": str(round_number)}).decode())
                        for ws in sockets
                    )
                )
            peak = process.memory_info().rss
        per_subscriber = (rss_subscribed - rss_before) / subscribers / 1024
        return {
            "subscribers": subscribers,
            "workers": workers,
            "rounds": rounds,
            "p50_ms": statistics.median(percentile(r, 0.50) for r in results),
            "p99_ms": statistics.median(percentile(r, 0.99) for r in results),
            "last_ms": statistics.median(max(r) for r in results),
            "rss_before_mb": rss_before / 2**20,
            "rss_subscribed_mb": rss_subscribed / 2**20,
            "rss_peak_mb": peak / 2**20,
            "kb_per_subscriber": per_subscriber,
            "server_cpu_ms": statistics.median(cpu) * 1000,
            "cpu_us_per_subscriber": statistics.median(cpu) * 1e6 / subscribers,
            "net_cpu_us_per_subscriber": statistics.median(net_cpu) * 1e6 / subscribers,
            "full_gcs": full_gcs,
            "client_cpu_ms": statistics.median(client_cpu) * 1000,
            "calls_per_subscriber": [count / subscribers for count, _ in call_counts],
            "most_called": call_counts[-1][1] if call_counts else [],
        }
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)


async def _until_stopped(work: Any) -> Any:
    """SIGTERM (a timeout, Ctrl-C's cousin) cancels the run, whose `finally` stops the server."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for stop in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop, task.cancel)
    return await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1, help="server processes (WORKERS)")
    parser.add_argument(
        "--profile", type=Path, default=None,
        help="py-spy raw stacks of the server during each event round into PROFILE.<round>.txt",
    )  # fmt: skip
    parser.add_argument(
        "--calls", action="store_true",
        help="count the server's Python calls per subscriber (cProfile; the latency then means nothing)",
    )  # fmt: skip
    args = parser.parse_args()
    result = asyncio.run(
        _until_stopped(run(args.subscribers, args.rounds, args.workers, args.profile, args.calls))
    )
    print(
        f"subscribers: {result['subscribers']} on {result['workers']} server process(es),"
        f" {result['rounds']} rounds (medians over rounds)"
    )
    print("| webhook sent -> PAID event received | p50 | p99 | last subscriber |")
    print("| --- | --- | --- | --- |")
    print(f"| latency (ms) | {result['p50_ms']:.1f} | {result['p99_ms']:.1f} | {result['last_ms']:.1f} |")
    print(
        f"server CPU from the webhook to the last event: {result['server_cpu_ms']:.0f} ms"
        f" ({result['cpu_us_per_subscriber']:.0f} us per subscriber;"
        f" {result['net_cpu_us_per_subscriber']:.0f} us net of the idle server's CPU over as long)"
    )
    print(
        f"benchmark clients' CPU (one process) from the webhook to the last event: {result['client_cpu_ms']:.0f} ms"
        f" ({result['client_cpu_ms'] * 1000 / result['subscribers']:.0f} us per subscriber)"
    )
    if result["calls_per_subscriber"]:
        counts = ", ".join(f"{count:.0f}" for count in result["calls_per_subscriber"])
        print(f"server Python calls per subscriber (cProfile, per round): {counts}; the most called:")
        print("\n".join(result["most_called"]))
    print(f"server full garbage collections during each event's fan-out: {result['full_gcs'] or 'unknown'}")
    print(
        f"server RSS: {result['rss_before_mb']:.0f} MB before, {result['rss_subscribed_mb']:.0f} MB with"
        f" {result['subscribers']} subscribers, peak {result['rss_peak_mb']:.0f} MB; about"
        f" {result['kb_per_subscriber']:.1f} KB per subscriber (its WebSocket connection and subscription)"
    )


if __name__ == "__main__":
    main()
