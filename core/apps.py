from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Qazyna core: people, agencies, audit"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import signals  # noqa: F401

        post_migrate.connect(_sync_roles, sender=self)


def _sync_roles(sender, **kwargs):
    """Keep the role groups' permissions in step with the models after every migrate."""
    from .roles import sync_role_groups

    sync_role_groups()
