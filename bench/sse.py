#!/usr/bin/env python3
"""bench/sse: many concurrent progress-stream subscribers on one running job.

Starts `docspasta serve` (embedded SQLite, in-process workers) and a slow local docs site, posts
one crawl, opens N SSE subscribers on it and keeps them for a window, then reports:

- database queries per second issued by the SSE path, counted on the server
  (docspasta_sse_db_queries_total in /metrics), over the window;
- delay from a state change (the job's updatedAt in each event) to the event reaching a client:
  p50 / p95 / max over every event of every subscriber;
- server CPU (user+system seconds per second of the window) and peak RSS.

Everything runs on 127.0.0.1; the run is bounded in time.

    bench/sse.py --subscribers 1000 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE_DELAY = 0.4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the crawler hanging up on a slow page at shutdown is expected


class SlowSite(BaseHTTPRequestHandler):
    """A docs site of many pages, each answered after PAGE_DELAY seconds: a crawl that lasts."""

    pages = 400

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        time.sleep(PAGE_DELAY)
        match = re.fullmatch(r"/docs/(?:p(\d+)\.html)?", self.path)
        if match is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        number = int(match.group(1) or 0)
        links = "".join(
            f"<a href='/docs/p{n}.html'>page {n}</a>"
            for n in range(number * 4 + 1, min(number * 4 + 5, self.pages))
        )
        body = (
            f"<html><head><title>Page {number}</title></head><body><main><h1>Page {number}</h1>"
            f"<p>{'Some documentation text. ' * 40}</p>{links}</main></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Subscriber:
    def __init__(self) -> None:
        self.received: list[tuple[float, int]] = []  # (arrival time, state_version)
        self.events = 0
        self.errors = 0


async def observe_changes(
    port: int, job_id: str, changes: dict[int, float], stop: asyncio.Event
) -> None:
    """When did each state_version appear? Its updatedAt, read every 50 ms off the job route
    (not the SSE path, so the SSE query counter is not touched)."""
    while not stop.is_set():
        state = json.loads(await http_get(port, f"/api/v5/jobs/{job_id}"))
        version = int(state["stateVersion"])
        changes.setdefault(version, datetime.fromisoformat(state["updatedAt"]).timestamp())
        await asyncio.sleep(0.05)


async def subscribe(port: int, path: str, sub: Subscriber, stop: asyncio.Event) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        sub.errors += 1
        return
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    try:
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                break
            if line.startswith(b"data: {"):
                state = json.loads(line[6:])
                sub.received.append((time.time(), int(state["stateVersion"])))
                sub.events += 1
    except (ConnectionError, asyncio.IncompleteReadError):
        sub.errors += 1
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def change_delays(subs: list[Subscriber], changes: dict[int, float]) -> list[float]:
    """For each subscriber and each state change it was told about: arrival - change time.
    An event with version v covers every change after the subscriber's previous event."""
    delays: list[float] = []
    for sub in subs:
        previous = None
        for arrived, version in sub.received:
            if previous is not None:
                delays += [
                    arrived - changes[v] for v in range(previous + 1, version + 1) if v in changes
                ]
            previous = version
    return delays


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def http_get(port: int, path: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    return data.decode(errors="replace").split("\r\n\r\n", 1)[1]


async def http_post(port: int, path: str, body: dict[str, object]) -> dict[str, object]:
    payload = json.dumps(body).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
        + payload
    )
    data = await reader.read()
    writer.close()
    return json.loads(data.decode().split("\r\n\r\n", 1)[1])  # type: ignore[no-any-return]


def start_server(port: int, tmp: str) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DOCSPASTA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/sse.db",
        "DOCSPASTA_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
    }
    with open(f"{tmp}/server.log", "w") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "docspasta",
                "serve",
                "--port",
                str(port),
                "--local-workers",
                "1",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


async def run(subscribers: int, seconds: float) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, subscribers * 2 + 256)), hard))
    site = QuietServer(("127.0.0.1", 0), SlowSite)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    site_url = f"http://127.0.0.1:{site.server_address[1]}/docs/"
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="docspasta-bench-sse-")
    server = start_server(port, tmp)
    try:
        for _ in range(200):
            try:
                await http_get(port, "/healthz")
                break
            except OSError:
                await asyncio.sleep(0.05)
        job = await http_post(
            port, "/api/v5/crawl", {"url": site_url, "options": {"maxPages": 400, "concurrency": 2}}
        )
        job_id = job["jobId"]
        stop = asyncio.Event()
        changes: dict[int, float] = {}
        observer = asyncio.create_task(observe_changes(port, job_id, changes, stop))
        subs = [Subscriber() for _ in range(subscribers)]
        path = f"/api/v5/jobs/{job_id}/stream"
        tasks = [asyncio.create_task(subscribe(port, path, s, stop)) for s in subs]
        await asyncio.sleep(2.0)  # let every subscriber connect
        before = metric(await http_get(port, "/metrics"), "docspasta_sse_db_queries_total")
        cpu_before, started = proc_cpu_seconds(server.pid), time.monotonic()
        peak_rss = 0.0
        while time.monotonic() - started < seconds:
            peak_rss = max(peak_rss, proc_rss_mb(server.pid))
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - started
        cpu = proc_cpu_seconds(server.pid) - cpu_before
        text = await http_get(port, "/metrics")
        after = metric(text, "docspasta_sse_db_queries_total")
        open_streams = metric(text, "docspasta_sse_subscribers")
        final_state = json.loads(await http_get(port, f"/api/v5/jobs/{job_id}"))
        stop.set()
        for task in [*tasks, observer]:
            task.cancel()
        await asyncio.gather(*tasks, observer, return_exceptions=True)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        site.shutdown()

    delays = sorted(change_delays(subs, changes))
    events = sum(s.events for s in subs)
    connected = sum(1 for s in subs if s.events > 0)
    print(f"server log: {tmp}/server.log")
    print(f"bench/sse: {subscribers} subscribers on one running job for {elapsed:.1f} s")
    progress = final_state["progress"]
    print(
        f"  job at the end of the window       {final_state['status']}, {progress['completed']}"
        f"/{progress['discovered']} pages, state_version {final_state['stateVersion']}"
    )
    print(f"  subscribers that received events   {connected}")
    print(f"  open streams counted by the server {open_streams:.0f}")
    print(f"  events received (all subscribers)  {events}")
    print(f"  SSE-path database queries / s      {(after - before) / elapsed:.2f}  (target <= 2)")
    print(f"  state change -> client delay p50   {quantile(delays, 0.50):.3f} s")
    print(f"  state change -> client delay p95   {quantile(delays, 0.95):.3f} s  (target <= 1.5)")
    print(f"  state change -> client delay max   {delays[-1] if delays else float('nan'):.3f} s")
    print(f"  server CPU                         {cpu / elapsed * 100:.1f} % of one core")
    print(f"  server peak RSS                    {peak_rss:.0f} MB")
    if delays:
        print(f"  (mean delay {statistics.fmean(delays):.3f} s over {len(delays)} events)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    asyncio.run(run(args.subscribers, args.seconds))


if __name__ == "__main__":
    main()
