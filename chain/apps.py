from django.apps import AppConfig


class ChainConfig(AppConfig):
    name = "chain"
    verbose_name = "Chain watchers"
    default_auto_field = "django.db.models.BigAutoField"
