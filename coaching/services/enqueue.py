"""Hand work to the Celery worker by task name, so services never import the task module.

Tasks (coaching/tasks.py) are thin wrappers that call services; if services imported them back the
two would form a circle. A broker outage only delays the work: callers keep what they owe in the
database (the outbox, the booking's Google state) and periodic tasks pick it up.
"""

import logging

from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def enqueue(task_name: str, *args) -> bool:
    """Send `task_name(*args)` to the worker (run in-process in the embedded mode). Never raises;
    returns False when the broker could not be reached."""
    try:
        # Imported by its dotted name when first needed: a web process has not imported the task
        # module (only a worker autodiscovers it), and a static import would make a circle.
        import_string(task_name).delay(*args)
    except Exception:  # any broker failure: what is owed is already recorded in the database
        logger.warning("Could not enqueue %s%r (broker unreachable?)", task_name, args, exc_info=True)
        return False
    return True
