"""`make benchweb`: how fast the guest pages are under gunicorn, against `/healthz` in the same run.

The seeded demo site on a fresh PostgreSQL database with Redis as cache and broker (prepared as
`make loadtest` prepares it: tools/loadtest.py), served by one gunicorn process with production
settings. A bounded load client — `--clients` threads, each with its own keep-alive connection,
asking for gzip as browsers do — loads one page at a time without pausing for `--duration` seconds
(after `--warmup` seconds not counted): `/healthz`, the home page, a coach page, the coach's month
calendar as the HTMX partial and one day's times as the HTMX partial, and the coach page as a
guest with a session sees it (never a kept page: drawn each time). Then it grows the bookings
table ten times (past sessions and cancelled ones over the coming months, as a busy year leaves
it) and loads the same pages again.

Prints `name: value unit` lines: req/s, p50 and p95 per page, each page's req/s as a share of
`/healthz`'s, and what a first visit to the coach page costs over the wire (the HTML, CSS and JS,
gzipped; plus the one calendar redraw site.js asks for when the guest's zone is not the site's).
Everything runs on loopback and stops by itself. The load client shares the machine's cores.

Options: --database NAME (created and dropped; default benchweb_<pid>), --redis URL, --workers,
--clients, --duration, --warmup, --port.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

from tools.loadtest import PYTHON, ROOT, percentile, prepare_site, psql, server_env
from tools.scale import start_servers, stop

HOST = "127.0.0.1"
COACH = "amara-okafor"
COOKIES = "USER_TIMEZONE=Europe/London"


def pages(today: date) -> dict[str, tuple[str, dict]]:
    """Name → (path, extra headers). Next month: a full month of times whatever today is."""
    month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    day = month + timedelta(days=(7 - month.weekday()) % 7 + 1)  # a Tuesday: weekly hours
    htmx = {"HX-Request": "true", "HX-Current-URL": f"http://{HOST}/coaches/{COACH}/"}
    return {
        "healthz": ("/healthz", {}),
        "home": ("/", {}),
        "coach_page": (f"/coaches/{COACH}/", {}),
        # A guest with a session (back from the checkout, or signed in) is never answered a kept
        # page: the page is drawn, from the kept month and calendar regions.
        "coach_page_drawn": (f"/coaches/{COACH}/", {"Cookie": f"{COOKIES}; sessionid=benchweb"}),
        "month_partial": (f"/book/coach/{COACH}/?month={month:%Y-%m}", htmx),
        "day_partial": (f"/book/coach/{COACH}/day/{day.isoformat()}/", htmx),
    }


def load(port: int, path: str, headers: dict, *, clients: int, duration: float) -> dict:
    """`clients` keep-alive connections asking for `path` without pausing, for `duration` seconds."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + duration
    request_headers = {"Cookie": COOKIES, "Accept-Encoding": "gzip", **headers}

    def client() -> None:
        nonlocal errors
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        mine, failed = [], 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=request_headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=30)
            if ok:
                mine.append((time.perf_counter() - started) * 1000)
            else:
                failed += 1
        with lock:
            latencies.extend(mine)
            errors += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "per_s": len(latencies) / elapsed,
        "p50": statistics.median(latencies) if latencies else 0.0,
        "p95": percentile(latencies, 0.95) if latencies else 0.0,
        "errors": errors,
    }


def fetch(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    connection.request("GET", path, headers={"Accept-Encoding": "gzip", **(headers or {})})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


ASSET = re.compile(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="(/static/[^"]+)"')
REFRESH = re.compile(r'hx-get="([^"]+)"\s+hx-trigger="[^"]*zone-detected')


def first_visit(port: int) -> dict:
    """A first visit to the coach page, as a browser in Tokyo makes it (no cookies): the document,
    its CSS and JS, and the calendar redraw in the guest's zone. Bytes of the bodies as sent."""
    status, headers, body = fetch(port, f"/coaches/{COACH}/")
    html = gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body
    sizes = {"html": len(body), "html_uncompressed": len(html)}
    css = js = 0
    for asset in sorted(set(ASSET.findall(html.decode()))):
        _, asset_headers, asset_body = fetch(port, asset)
        if asset.endswith(".css"):
            css += len(asset_body)
        else:
            js += len(asset_body)
        sizes.setdefault("static_cache_control", asset_headers.get("cache-control", ""))
    redraws = 0
    for url in REFRESH.findall(html.decode()):
        zone_headers = {"HX-Request": "true", "X-Timezone": "Asia/Tokyo", "HX-Current-URL": f"/coaches/{COACH}/"}
        _, _, redraw = fetch(port, url.replace("&amp;", "&"), zone_headers)
        redraws += len(redraw)
    sizes.update(css=css, js=js, zone_redraw=redraws, html_encoding=headers.get("content-encoding", "identity"))
    sizes["total"] = sizes["html"] + css + js + redraws
    return sizes


GROW = """
import django; django.setup()
from datetime import timedelta
from django.utils import timezone
from coaching.models import Booking, Coach
now = timezone.now().replace(minute=0, second=0, microsecond=0)
rows = []
for coach in Coach.objects.all():
    for n in range({per_coach}):
        # Past sessions, one an hour back from 30 days ago (clear of the demo's own recent past
        # sessions: the exclusion constraint refuses an overlap); cancelled ones over the next 90 days.
        start = now - timedelta(days=30, hours={offset} + n + 1)
        rows.append(Booking(coach=coach, start_at=start, end_at=start + timedelta(minutes=50),
                            status="confirmed", guest_name="Past guest", guest_email="past@bench.invalid"))
        later = now + timedelta(minutes=30 * (n % 4320))
        rows.append(Booking(coach=coach, start_at=later, end_at=later + timedelta(minutes=50),
                            status="cancelled", guest_name="Cancelled guest", guest_email="gone@bench.invalid"))
Booking.objects.bulk_create(rows, batch_size=2000)
print(Booking.objects.count())
"""


def grow_bookings(env: dict, *, per_coach: int, offset: int) -> int:
    """Add past and cancelled bookings (2 × per_coach per coach); the table's new size."""
    script = GROW.format(per_coach=per_coach, offset=offset)
    done = subprocess.run([PYTHON, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return int(done.stdout.split()[-1])


def measure(port: int, today: date, args, label: str) -> dict[str, dict]:
    results = {}
    for name, (path, headers) in pages(today).items():
        load(port, path, headers, clients=args.clients, duration=args.warmup)
        results[name] = load(port, path, headers, clients=args.clients, duration=args.duration)
    healthz = results["healthz"]["per_s"]
    for name, result in results.items():
        share = f" ({result['per_s'] / healthz:.0%} of /healthz)" if name != "healthz" else ""
        print(
            f"{label}{name}: {result['per_s']:.0f} req/s{share}, p50 {result['p50']:.1f} ms, "
            f"p95 {result['p95']:.1f} ms, errors {result['errors']}"
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=f"benchweb_{os.getpid()}")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per page")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load per page before measuring")
    parser.add_argument("--port", type=int, default=8795)
    args = parser.parse_args()

    psql(f"DROP DATABASE IF EXISTS {args.database}")
    psql(f"CREATE DATABASE {args.database}")
    env = {
        **server_env(args.database),
        "REDIS_URL": args.redis,
        "SITE_URL": f"http://{HOST}:{args.port}",
        "ALLOWED_HOSTS": HOST,
    }
    servers = []
    try:
        prepare_site(env)
        subprocess.run(["redis-cli", "-u", args.redis, "flushdb"], check=False, capture_output=True)
        log_path = f"/tmp/benchweb-gunicorn-{os.getpid()}.log"
        print(f"server_log: {log_path}")
        print(f"cpus: {os.cpu_count()}")
        print(f"gunicorn_workers: {args.workers}")
        print(f"clients: {args.clients}")
        print(f"seconds_per_page: {args.duration:g}")
        with open(log_path, "w") as log:
            servers = start_servers(1, workers=args.workers, env=env, log=log, first_port=args.port)
            visit = first_visit(args.port)
            print(
                f"first_visit_bytes: {visit['total'] / 1024:.1f} KB (HTML {visit['html'] / 1024:.1f} KB "
                f"{visit['html_encoding']} of {visit['html_uncompressed'] / 1024:.1f} KB, CSS {visit['css'] / 1024:.1f} KB, "
                f"JS {visit['js'] / 1024:.1f} KB, zone redraw {visit['zone_redraw'] / 1024:.1f} KB)"
            )
            print(f"static_cache_control: {visit['static_cache_control']}")
            today = date.today()
            bookings = grow_bookings(env, per_coach=50, offset=0)
            print(f"bookings: {bookings}")
            before = measure(args.port, today, args, "")
            bookings = grow_bookings(env, per_coach=450, offset=50)
            print(f"bookings_10x: {bookings}")
            after = measure(args.port, today, args, "10x_")
            for name in before:
                if name != "healthz":
                    print(f"10x_vs_1x_{name}: {after[name]['per_s'] / before[name]['per_s']:.2f}")
        errors = sum(r["errors"] for r in (*before.values(), *after.values()))
        return 0 if errors == 0 else 1
    finally:
        stop(servers)
        subprocess.run(["redis-cli", "-u", args.redis, "flushdb"], check=False, capture_output=True)
        psql(f"DROP DATABASE IF EXISTS {args.database}")


if __name__ == "__main__":
    sys.exit(main())
