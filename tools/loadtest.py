"""`make loadtest`: many guests loading calendars and booking at once, against gunicorn + PostgreSQL.

Everything runs on loopback: a fresh PostgreSQL database, the seeded demo site under gunicorn with
production settings, Redis as the broker (no worker: mail waits in the outbox, as in an outage), and
a bounded pool of client threads, each a guest who opens a coach's calendar, picks a day, opens a
slot and books it (or books a workshop seat). It stops by itself after --duration seconds, then
checks in the database that no slot or seat was double-booked.

Prints `name: value unit` lines: requests/s, p50/p95 latency per request kind, outcomes by status,
bookings made, and the double-booking check. Options: --guests N --duration S --workers W.

`--db-outage SECONDS` puts a TCP proxy between gunicorn and PostgreSQL and, a third of the way in,
drops every database connection and refuses new ones for that long (what a PostgreSQL restart looks
like to the app); the report then splits outcomes into before / during / after the outage.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST, PORT = "127.0.0.1", 8765
PG = "postgres://postgres@127.0.0.1:5432"
COACHES = ["amara-okafor", "yuki-tanaka", "daniel-reyes"]
FREE_WORKSHOP = "career-clarity-lab"
SLOT_RE = re.compile(r'data-start="([0-9TZ:\-]+)"')
DAY_RE = re.compile(r"/book/coach/[a-z\-]+/day/(\d{4}-\d{2}-\d{2})/")


def server_env(database: str) -> dict[str, str]:
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DATABASE_URL=f"{PG}/{database}",
        REDIS_URL="redis://127.0.0.1:6379/14",
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS=HOST,
        SITE_URL=f"http://{HOST}:{PORT}",
        CSRF_TRUSTED_ORIGINS=f"http://{HOST}:{PORT}",
        RATELIMIT_ENABLED="false",
        # Paid coaches go through the built-in test checkout (production settings turn it off).
        STRIPE_TEST_CHECKOUT="true",
        LOG_LEVEL="WARNING",
    )


def prepare_site(env: dict[str, str]) -> None:
    """Migrate the database in `env`, seed the demo site and collect the static files."""
    # The demo content is a development app (not in the production image): seed with dev settings.
    seed_env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings.dev"}
    for command, command_env in (
        (["migrate", "--noinput", "-v0"], env),
        (["seed_demo"], seed_env),
        (["collectstatic", "--noinput", "-v0"], env),
    ):
        subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=command_env, check=True, capture_output=True)


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True, capture_output=True)


class Guest:
    """One virtual guest with its own keep-alive connection and cookies."""

    def __init__(self, stats: Stats, deadline: float):
        self.stats = stats
        self.deadline = deadline
        self.conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
        self.cookies: dict[str, str] = {
            "USER_TIMEZONE": random.choice(["Europe/London", "Asia/Tokyo", "America/New_York"])
        }

    def request(self, kind: str, method: str, path: str, body: dict | None = None, htmx: bool = False):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if htmx:
            headers["HX-Request"] = "true"
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            headers["Referer"] = f"http://{HOST}:{PORT}{path}"
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            self.stats.record(kind, time.perf_counter() - started, f"error:{type(exc).__name__}")
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
            return None, ""
        self.stats.record(kind, time.perf_counter() - started, str(response.status))
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, text

    def run(self) -> None:
        today = date.today()
        while time.time() < self.deadline:
            if random.random() < 0.2:
                self.book_workshop_seat()
            else:
                self.book_session(today)

    def book_session(self, today: date) -> None:
        slug = random.choice(COACHES[:2])  # the free and the cheaper paid coach
        month = today + timedelta(days=random.choice([0, 31]))
        status, page = self.request(
            "calendar", "GET", f"/book/coach/{slug}/?month={month:%Y-%m}", htmx=random.random() < 0.5
        )
        days = sorted(set(DAY_RE.findall(page or "")))
        if status != 200 or not days:
            return
        status, day_page = self.request("day", "GET", f"/book/coach/{slug}/day/{random.choice(days)}/", htmx=True)
        starts = SLOT_RE.findall(day_page or "")
        if status != 200 or not starts:
            return
        # Guests crowd the earliest times, so many race for the same slot.
        start = random.choice(starts[:3])
        slot_path = f"/book/coach/{slug}/slot/?start={quote(start)}"
        status, form = self.request("slot_form", "GET", slot_path, htmx=True)
        if status != 200:
            return
        n = random.randrange(10**9)
        self.request(
            "book", "POST", slot_path, body={"name": f"Load guest {n}", "email": f"load{n}@example.com"}, htmx=True
        )

    def book_workshop_seat(self) -> None:
        path = f"/book/workshop/{FREE_WORKSHOP}/"
        status, _ = self.request("workshop_form", "GET", path, htmx=True)
        if status != 200:
            return
        n = random.randrange(10**9)
        self.request(
            "book_seat",
            "POST",
            path,
            body={"seats": "1", "name": f"Load guest {n}", "email": f"load{n}@example.com"},
            htmx=True,
        )


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.outcomes: Counter[str] = Counter()
        self.phase = "steady"
        self.phases: Counter[str] = Counter()

    def record(self, kind: str, seconds: float, outcome: str) -> None:
        with self.lock:
            self.latency[kind].append(seconds * 1000)
            self.outcomes[f"{kind}:{outcome}"] += 1
            self.phases[f"{self.phase}:{outcome[0] if outcome[0].isdigit() else 'e'}xx"] += 1


class DatabaseProxy:
    """A loopback TCP proxy to PostgreSQL that can simulate a restart (drop all, refuse, come back)."""

    def __init__(self, listen_port: int, upstream_port: int = 5432):
        self.listen_port, self.upstream_port = listen_port, upstream_port
        self.sockets: list = []
        self.lock = threading.Lock()
        self.listener = None
        self.running = True

    def start(self) -> None:
        self._listen()
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _listen(self) -> None:
        import socket

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.listen_port))
        listener.listen(128)
        listener.settimeout(0.2)
        self.listener = listener

    def _accept_loop(self) -> None:
        import socket

        while self.running:
            listener = self.listener
            if listener is None:
                time.sleep(0.05)  # outage: nothing is listening, as during a restart
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source, target) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.close()
                except OSError:
                    pass

    def outage(self, seconds: float) -> None:
        listener, self.listener = self.listener, None
        listener.close()
        with self.lock:
            for sock in self.sockets:
                try:
                    # shutdown, not just close: it wakes the pump thread blocked in recv() and sends
                    # the FIN that tells both ends the connection is gone.
                    sock.shutdown(2)
                    sock.close()
                except OSError:
                    pass
            self.sockets.clear()
        time.sleep(seconds)  # the simulated restart's length, not a race
        self._listen()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def verify(database: str) -> dict[str, int]:
    """Count double bookings straight from PostgreSQL."""
    import psycopg

    with psycopg.connect(f"{PG}/{database}") as conn:
        overlaps = conn.execute(
            """SELECT count(*) FROM coaching_booking a JOIN coaching_booking b
               ON a.coach_id = b.coach_id AND a.id < b.id
               AND a.status IN ('pending_payment','confirmed') AND b.status IN ('pending_payment','confirmed')
               AND tstzrange(a.start_at, a.end_at) && tstzrange(b.start_at, b.end_at)"""
        ).fetchone()[0]
        oversold = conn.execute(
            """SELECT count(*) FROM coaching_workshop w WHERE w.capacity < (
                 SELECT coalesce(sum(seats), 0) FROM coaching_booking b
                 WHERE b.workshop_id = w.id AND b.status IN ('pending_payment','confirmed'))"""
        ).fetchone()[0]
        by_status = dict(
            conn.execute(
                "SELECT status, count(*) FROM coaching_booking WHERE guest_email LIKE 'load%%@example.com' GROUP BY status"
            ).fetchall()
        )
    return {
        "overlapping_active_bookings": overlaps,
        "oversold_workshops": oversold,
        "bookings_confirmed": by_status.get("confirmed", 0),
        "bookings_held_for_payment": by_status.get("pending_payment", 0),
        "bookings_other_status": sum(v for k, v in by_status.items() if k not in ("confirmed", "pending_payment")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guests", type=int, default=40)
    parser.add_argument("--duration", type=int, default=120)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--db-outage", type=float, default=0, help="seconds of simulated PostgreSQL restart")
    args = parser.parse_args()

    database = f"booking_load_{os.getpid()}"
    psql(f"DROP DATABASE IF EXISTS {database}")
    psql(f"CREATE DATABASE {database}")
    env = server_env(database)
    proxy = None
    if args.db_outage:
        proxy = DatabaseProxy(listen_port=PORT + 1)
        proxy.start()
    server = None
    try:
        prepare_site(env)
        server_log = open(f"/tmp/loadtest-gunicorn-{os.getpid()}.log", "w")
        print(f"server_log: {server_log.name}")
        if proxy is not None:
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{PORT + 1}/{database}"
        server = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"{HOST}:{PORT}",
                "--workers",
                str(args.workers),
                "--timeout",
                "30",
                "--log-level",
                "warning",
            ],
            # The server's log goes to a file: an unread pipe fills up and would block the workers.
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=server_log,
        )
        wait_until_up()
        stats = Stats()
        deadline = time.time() + args.duration
        threads = [threading.Thread(target=Guest(stats, deadline).run) for _ in range(args.guests)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        if proxy is not None:
            time.sleep(args.duration / 3)  # let the steady state settle before the fault
            stats.phase = "outage"
            proxy.outage(args.db_outage)
            stats.phase = "recovery"
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        report(stats, elapsed, args)
        checks = verify(database)
        for name, value in checks.items():
            print(f"{name}: {value}")
        return 0 if checks["overlapping_active_bookings"] == 0 and checks["oversold_workshops"] == 0 else 1
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        if proxy is not None:
            proxy.running = False
        psql(f"DROP DATABASE IF EXISTS {database}")


def wait_until_up(timeout: float = 60, port: int = PORT) -> None:
    give_up = time.time() + timeout
    while time.time() < give_up:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)  # polling a starting server, not papering over a race
    raise SystemExit(f"gunicorn on port {port} did not come up")


def report(stats: Stats, elapsed: float, args) -> None:
    total = sum(len(v) for v in stats.latency.values())
    print(f"guests: {args.guests}")
    print(f"duration: {elapsed:.0f} s")
    print(f"gunicorn_workers: {args.workers}")
    print(f"requests: {total}")
    print(f"requests_per_s: {total / elapsed:.1f} req/s")
    everything = [ms for values in stats.latency.values() for ms in values]
    print(f"latency_p50: {statistics.median(everything):.0f} ms")
    print(f"latency_p95: {percentile(everything, 0.95):.0f} ms")
    for kind, values in sorted(stats.latency.items()):
        print(f"{kind}_p50: {statistics.median(values):.0f} ms")
        print(f"{kind}_p95: {percentile(values, 0.95):.0f} ms")
    errors = sum(count for key, count in stats.outcomes.items() if key.split(":")[1].startswith(("5", "error")))
    for key, count in sorted(stats.outcomes.items()):
        print(f"outcome {key}: {count}")
    print(f"errors_5xx_or_connection: {errors}")
    for key, count in sorted(stats.phases.items()):
        print(f"phase {key}: {count}")


if __name__ == "__main__":
    sys.exit(main())
