from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo content (`manage.py seed_demo`): installed by the development and test settings only."""

    name = "tools.demo"
    label = "demo"
    verbose_name = "Demo content"
