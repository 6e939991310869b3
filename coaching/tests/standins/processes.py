"""Real processes on this test's database: free ports, the database's URL, and gunicorn web servers.

Tests that need another process (a Celery worker, two web processes) start it with these, so it
reads and writes the very rows the test made (in a transactional test: committed rows).
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from django.db import connection

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """The test database as a URL, so another process reads and writes the very same rows."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def web_processes(
    count: int, *, environment: dict[str, str], ready_path: str = "/healthz", log_to: Path | None = None
) -> Iterator[list[str]]:
    """`count` separate gunicorn servers (one worker each, own port) with `environment`: web
    processes that share nothing but what the environment points them at. Yields their base URLs
    once each answers `ready_path`; stops them afterwards. Their output goes to `log_to` (a file:
    an unread pipe would fill up and block them) or nowhere."""
    servers, urls = [], []
    log = open(log_to, "ab") if log_to else subprocess.DEVNULL  # noqa: SIM115 — closed below
    try:
        for _ in range(count):
            port = free_port()
            servers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
                    + ["--workers", "1", "--timeout", "60"],
                    cwd=ROOT,
                    env={**os.environ, **environment},
                    stdout=log,
                    stderr=log,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 90
        for server, url in zip(servers, urls, strict=True):
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"gunicorn on {url} exited with {server.returncode} (log: {log_to})")
                try:
                    requests.get(url + ready_path, timeout=30)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)  # polling a starting server
        yield urls
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=20)
        if log_to:
            log.close()
