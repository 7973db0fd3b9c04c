from django.urls import path

from . import views

# Opaque UUIDs only: no sequential id of a video ever appears in a URL.
urlpatterns = [
    path("media/v/<uuid:uid>/video.mp4", views.video_rendition, name="video-rendition"),
    path("media/v/<uuid:uid>/poster.jpg", views.video_poster, name="video-poster"),
]
