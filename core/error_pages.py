"""The site's own error pages during development too.

With DEBUG on (`make run`), Django answers an unknown address with a page listing every URL of
the site, and an error or a bad request with its traceback and settings. Unless a developer asks
for those (settings.DEBUG_PAGES, from DJANGO_DEBUG_PAGES), this middleware answers as production
does: the site's 400, 404 and 500 pages, the error logged.
"""

import logging
import sys

from django.conf import settings
from django.core import signals
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.core.handlers.exception import get_exception_response
from django.http import Http404
from django.urls import Resolver404, get_resolver, get_urlconf

request_logger = logging.getLogger("django.request")


class SiteErrorPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def active() -> bool:
        return settings.DEBUG and not settings.DEBUG_PAGES

    def __call__(self, request):
        response = self.get_response(request)
        # No view matched: in DEBUG that 404 is Django's page listing every URL.
        if response.status_code == 404 and request.resolver_match is None and self.active():
            return self.page(request, 404, Resolver404({"path": request.path_info}))
        return response

    def process_exception(self, request, exception):
        """A view's exception, answered as Django answers it with DEBUG off."""
        if not self.active() or isinstance(exception, PermissionDenied):
            return None  # 403 shows the site's page in DEBUG already
        if isinstance(exception, Http404):
            return self.page(request, 404, exception)
        if isinstance(exception, SuspiciousOperation):
            logging.getLogger(f"django.security.{exception.__class__.__name__}").error(
                str(exception), exc_info=exception, extra={"status_code": 400, "request": request}
            )
            return self.page(request, 400, exception)
        if isinstance(exception, BadRequest):
            return self.page(request, 400, exception)
        signals.got_request_exception.send(sender=None, request=request)
        request_logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=sys.exc_info(),
            extra={"status_code": 500, "request": request},
        )
        return get_resolver(get_urlconf()).resolve_error_handler(500)(request)

    @staticmethod
    def page(request, status, exception):
        return get_exception_response(request, get_resolver(get_urlconf()), status, exception)
