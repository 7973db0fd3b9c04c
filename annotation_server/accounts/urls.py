from django.urls import path

from annotation_server.accounts import apis

urlpatterns = [
    path("api/v1/auth/logout/", apis.LogoutApi.as_view(), name="api-logout"),
]
