from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The site itself: roles, the page shell, the list-page pattern, first-start setup."""

    name = "core"
    label = "site"
    verbose_name = "Site"

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import tables_speedup
        from .sqlite_functions import install_unicode_like

        connection_created.connect(install_unicode_like, dispatch_uid="site.unicode_like")
        tables_speedup.install()
