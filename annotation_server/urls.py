from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from annotation_server.accounts import apis as account_apis
from annotation_server.core.apis import PingApi

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/auth/token/", account_apis.TokenObtainApi.as_view(), name="api-token"),
    path("api/v1/", include("annotation_server.assignments.urls")),
    path("api/v1/", include("annotation_server.annotations.urls")),
    path("api/v1/ping/", PingApi.as_view(), name="api-ping"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("annotation_server.quality.urls")),
    path("", include("annotation_server.machines.urls")),
    path("", include("annotation_server.accounts.urls")),
    path("", include("annotation_server.catalog.urls")),
    path("", include("annotation_server.workspace.urls")),
    path("", include("annotation_server.core.urls")),
]
