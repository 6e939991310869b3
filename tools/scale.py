"""`make benchweb-scale`: pages per second from one web process, then from two, on this machine.

The seeded demo site on a fresh PostgreSQL database (as `make loadtest` builds it), served by
gunicorn with production settings: first one process, then two on neighbouring ports (the same
number of workers each), with the client threads taking turns between the processes as a load
balancer would. Each client loads public pages without pausing — a coach page, its month calendar
(as a full page and as the HTMX partial), a day's times, the workshops page — for --duration
seconds. Everything runs on loopback and stops by itself.

It alternates one and two processes --rounds times and prints `name: value unit` lines: the median
pages/s (and each round's), p50/p95 latency and errors for each configuration, and the ratio. The load generator runs on the same cores as the servers: on a 2-core machine the
second process mostly shares the same CPU, which is the point of measuring it (see README, "Sizing").
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from tools.loadtest import PYTHON, ROOT, percentile, prepare_site, psql, server_env, wait_until_up

HOST = "127.0.0.1"
FIRST_PORT = 8775
PAGES = [
    "/coaches/amara-okafor/",
    "/book/coach/amara-okafor/?month={month}",
    "/book/coach/yuki-tanaka/?month={month}&htmx",
    "/book/coach/amara-okafor/day/{day}/",
    "/workshops/",
]


def start_servers(count: int, *, workers: int, env: dict, log, first_port: int = FIRST_PORT) -> list[subprocess.Popen]:
    servers = []
    for port in range(first_port, first_port + count):
        servers.append(
            subprocess.Popen(
                [PYTHON, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{HOST}:{port}"]
                + ["--workers", str(workers), "--timeout", "30", "--log-level", "warning"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        )
    for port in range(first_port, first_port + count):
        wait_until_up(port=port)
    return servers


def workers(servers: list[subprocess.Popen]) -> list[Path]:
    """/proc folders of the gunicorn workers (the masters' children)."""
    masters = {str(server.pid) for server in servers}
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # Fields after the command name, which is in parentheses and may hold spaces.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if fields[1] in masters:
            found.append(stat.parent)
    return found


def worker_cpu_seconds(servers: list[subprocess.Popen]) -> float:
    """CPU time (user + system) the workers have used so far."""
    ticks = 0
    for folder in workers(servers):
        try:
            fields = (folder / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def worker_rss_mb(servers: list[subprocess.Popen]) -> list[float]:
    sizes = []
    for folder in workers(servers):
        try:
            status = dict(line.split(":", 1) for line in (folder / "status").read_text().splitlines() if ":" in line)
        except OSError:
            continue
        sizes.append(int(status["VmRSS"].split()[0]) / 1024)
    return sizes


def stop(servers: list[subprocess.Popen]) -> None:
    for server in servers:
        server.send_signal(signal.SIGTERM)
    for server in servers:
        server.wait(timeout=30)


def load(ports: list[int], *, clients: int, duration: float) -> dict:
    """`clients` threads loading PAGES round-robin over `ports` for `duration` seconds."""
    month = date.today().replace(day=1) + timedelta(days=32)
    day = month.replace(day=10)
    paths = [page.format(month=f"{month:%Y-%m}", day=day.isoformat()) for page in PAGES]
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + duration
    turn = itertools.count()

    def client(number: int) -> None:
        nonlocal errors
        connections = {port: http.client.HTTPConnection(HOST, port, timeout=30) for port in ports}
        mine, local_errors = [], 0
        for request_number in itertools.count(number):
            if time.monotonic() >= deadline:
                break
            port = ports[next(turn) % len(ports)]
            path = paths[request_number % len(paths)]
            headers = {"Cookie": "USER_TIMEZONE=Europe/London"}
            if path.endswith("&htmx"):
                path, headers["HX-Request"] = path.removesuffix("&htmx"), "true"
            started = time.perf_counter()
            try:
                connections[port].request("GET", path, headers=headers)
                response = connections[port].getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connections[port].close()
                connections[port] = http.client.HTTPConnection(HOST, port, timeout=30)
            if ok:
                mine.append((time.perf_counter() - started) * 1000)
            else:
                local_errors += 1
        with lock:
            latencies.extend(mine)
            errors += local_errors

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "pages": len(latencies),
        "seconds": elapsed,
        "pages_per_s": len(latencies) / elapsed,
        "p50": statistics.median(latencies) if latencies else 0.0,
        "p95": percentile(latencies, 0.95) if latencies else 0.0,
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers in each web process")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=30, help="seconds of load per configuration")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before measuring")
    parser.add_argument("--rounds", type=int, default=3, help="alternate one and two processes this many times")
    args = parser.parse_args()

    database = f"booking_scale_{os.getpid()}"
    psql(f"DROP DATABASE IF EXISTS {database}")
    psql(f"CREATE DATABASE {database}")
    env = {**server_env(database), "SITE_URL": f"http://{HOST}:{FIRST_PORT}", "ALLOWED_HOSTS": HOST}
    try:
        prepare_site(env)
        log_path = f"/tmp/scale-gunicorn-{os.getpid()}.log"
        print(f"server_log: {log_path}")
        print(f"cpus: {os.cpu_count()}")
        print(f"workers_per_process: {args.workers}")
        print(f"clients: {args.clients}")
        print(f"rounds: {args.rounds}")
        # One, two, one, two …: a shared machine's background load then falls on both alike.
        runs: dict[int, list[dict]] = {1: [], 2: []}
        rss: list[float] = []
        with open(log_path, "w") as log:
            for _ in range(args.rounds):
                for processes in (1, 2):
                    servers = start_servers(processes, workers=args.workers, env=env, log=log)
                    ports = list(range(FIRST_PORT, FIRST_PORT + processes))
                    try:
                        load(ports, clients=args.clients, duration=args.warmup)
                        cpu_before = worker_cpu_seconds(servers)
                        result = load(ports, clients=args.clients, duration=args.duration)
                        result["cpu_ms_per_page"] = (worker_cpu_seconds(servers) - cpu_before) * 1000 / result["pages"]
                        runs[processes].append(result)
                        rss.extend(worker_rss_mb(servers))
                    finally:
                        stop(servers)
        medians = {}
        for processes, results in runs.items():
            label = f"{processes}_process" + ("es" if processes > 1 else "")
            medians[processes] = statistics.median(result["pages_per_s"] for result in results)
            print(f"{label}_pages_per_s: {medians[processes]:.1f} pages/s (median of {len(results)})")
            print(f"{label}_pages_per_s_each_round: " + ", ".join(f"{r['pages_per_s']:.1f}" for r in results))
            print(f"{label}_p50: {statistics.median(r['p50'] for r in results):.0f} ms")
            print(f"{label}_p95: {statistics.median(r['p95'] for r in results):.0f} ms")
            print(f"{label}_errors: {sum(r['errors'] for r in results)}")
            print(f"{label}_server_cpu_per_page: {statistics.median(r['cpu_ms_per_page'] for r in results):.0f} ms")
        print(f"two_vs_one: {medians[2] / medians[1]:.2f}x")
        if rss:
            print(f"worker_rss: {statistics.median(rss):.0f} MB (median of {len(rss)} workers after load)")
        return 0 if all(r["errors"] == 0 for results in runs.values() for r in results) else 1
    finally:
        psql(f"DROP DATABASE IF EXISTS {database}")


if __name__ == "__main__":
    sys.exit(main())
