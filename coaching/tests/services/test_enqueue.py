"""Services hand work to Celery by task name; that must work in a process that never imported
coaching.tasks (a web process: only workers autodiscover the task module)."""

import subprocess
import sys

from django.conf import settings


def test_enqueue_finds_a_task_in_a_fresh_process_that_never_imported_the_task_module():
    script = (
        "import django, sys; django.setup(); "
        "assert 'coaching.tasks' not in sys.modules; "
        "from coaching.services.enqueue import enqueue; "
        "sys.exit(0 if enqueue('coaching.tasks.send_due_refunds') else 1)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env={"DJANGO_SETTINGS_MODULE": "config.settings.test", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
