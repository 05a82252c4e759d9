"""The language a person reads the site in.

Staff choose theirs (the language menu in the header): it is saved on their UserPreference, so
it follows them across browsers and sign-ins, and copied into the session at sign-in so a page
pays no query for it. A visitor who has chosen none (the sign-in page) gets the browser's
language from Django's LocaleMiddleware. The API answers in English whatever the client asks:
its codes and names are the reference's, and its clients parse its messages as they are.
"""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import translation

from .models import UserPreference

SESSION_KEY = "staff_language"
API_PREFIX = "/api/"


def supported(language: str) -> bool:
    return language in dict(settings.LANGUAGES)


def preferred_language(user) -> str | None:
    """The language `user` chose, or None when they have not chosen one."""
    return (
        UserPreference.objects.filter(user=user).values_list("language", flat=True).first()
        if user.is_authenticated
        else None
    )


def set_preferred_language(*, request, language: str) -> None:
    """Save `language` as the signed-in user's choice and show this session's pages in it."""
    if not supported(language):
        raise ValueError(f"Unknown language {language!r}.")
    UserPreference.objects.update_or_create(user=request.user, defaults={"language": language})
    request.session[SESSION_KEY] = language
    translation.activate(language)
    request.LANGUAGE_CODE = language


@receiver(user_logged_in, dispatch_uid="site.staff_language_at_sign_in")
def remember_language_at_sign_in(sender, request, user, **kwargs):
    language = preferred_language(user)
    if request is not None and hasattr(request, "session"):
        if language:
            request.session[SESSION_KEY] = language
        else:
            request.session.pop(SESSION_KEY, None)


class UserLanguageMiddleware:
    """After authentication: a signed-in user's chosen language, English for the API."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            language = settings.LANGUAGE_CODE
        else:
            language = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if language and supported(language):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
