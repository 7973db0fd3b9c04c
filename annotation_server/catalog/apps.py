from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _built_in_taxonomies(sender, **kwargs) -> None:
    # After every migrate (and test flush): the built-in taxonomy files are the source, a
    # changed file becomes the next version, an unchanged one changes nothing.
    from annotation_server.catalog.taxonomy_data import taxonomy_ensure_built_in

    taxonomy_ensure_built_in()


class CatalogConfig(AppConfig):
    name = "annotation_server.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Videos are queued by task name (queueing.py): the name is known in every process.
        from annotation_server.catalog import tasks  # noqa: F401

        post_migrate.connect(_built_in_taxonomies, sender=self)
