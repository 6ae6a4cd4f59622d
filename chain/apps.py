from django.apps import AppConfig

from core import health


class ChainConfig(AppConfig):
    name = "chain"
    verbose_name = "Chain watchers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        health.register("node", "chain.health.node_section")
        health.register("breaker", "chain.health.breaker_section")
