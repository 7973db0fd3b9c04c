from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "annotation_server.core"
    label = "core"
