from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "annotation_server.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"
