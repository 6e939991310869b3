"""Local development: the embedded default that `make run` uses."""

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, env_bool

DEBUG = env_bool("DEBUG", True)

# The demo content (`manage.py seed_demo`) is a development tool: never installed in production.
INSTALLED_APPS = [*INSTALLED_APPS, "tools.demo"]
