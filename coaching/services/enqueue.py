"""Hand work to the Celery worker by task name, so services never import the task module.

Tasks (coaching/tasks.py) are thin wrappers that call services; if services imported them back the
two would form a circle. A broker outage only delays the work: callers keep what they owe in the
database (the outbox, the booking's Google state) and periodic tasks pick it up.
"""

import logging

logger = logging.getLogger(__name__)


def enqueue(task_name: str, *args) -> bool:
    """Send `task_name(*args)` to the worker (run in-process in the embedded mode). Never raises;
    returns False when the broker could not be reached."""
    from celery import current_app

    try:
        current_app.tasks[task_name].delay(*args)
    except Exception:  # any broker failure: what is owed is already recorded in the database
        logger.warning("Could not enqueue %s%r (broker unreachable?)", task_name, args, exc_info=True)
        return False
    return True
