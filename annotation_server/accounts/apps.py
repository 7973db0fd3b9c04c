from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "annotation_server.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import lockout  # noqa: F401  (connects the lockout audit receiver)
        from .roles import role_permissions_sync

        # Permissions rows only exist after migrate has created them, hence post_migrate.
        post_migrate.connect(role_permissions_sync, dispatch_uid="accounts.role_permissions")
