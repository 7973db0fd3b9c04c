"""A URLconf with language-prefixed patterns (`i18n_patterns`), for the locale middleware's tests:
the project's own URLconf has none, and the middleware must still behave as Django's with one."""

from django.conf.urls.i18n import i18n_patterns
from django.http import HttpResponse
from django.urls import path


def _page(request):
    return HttpResponse()


urlpatterns = i18n_patterns(path("work/", _page))
