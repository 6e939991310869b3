"""The Celery broker, pointed somewhere else for one test: a real Redis queue, a closed port (an
outage), or kombu's in-memory transport (messages wait, as for a worker that has not got to them)."""

from contextlib import contextmanager

from kombu import pools as kombu_pools

from config.celery import app as celery_app


@contextmanager
def celery_configured(**overrides):
    """Point the project's Celery app somewhere else for one test (settings are read once, at start)."""
    saved = {name: celery_app.conf[name] for name in overrides}

    def reset_connections():
        # kombu keeps connection and producer pools in a process-wide registry keyed by broker URL.
        kombu_pools.reset()
        celery_app._pool = None
        # The AMQP helper caches queues, routes and producers built from the old configuration.
        celery_app.__dict__.pop("amqp", None)

    celery_app.conf.update(overrides)
    reset_connections()
    try:
        yield
    finally:
        celery_app.conf.update(saved)
        reset_connections()
