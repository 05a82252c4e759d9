from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class BackOfficeAdminConfig(AdminConfig):
    """Django's admin, on a site that refuses NUL characters in filters (core/admin_site.py)."""

    default_site = "core.admin_site.BackOfficeAdminSite"


class SiteConfig(AppConfig):
    """The site itself: roles, the page shell, the list-page pattern, first-start setup."""

    name = "core"
    label = "site"
    verbose_name = _("Site")

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import languages, tables_speedup  # noqa: F401 (languages: its sign-in receiver)
        from .sqlite_functions import install_unicode_like

        connection_created.connect(install_unicode_like, dispatch_uid="site.unicode_like")
        tables_speedup.install()

        from celery.signals import task_postrun, task_prerun

        from .audit import connect_user_signals, task_ended, task_started

        task_prerun.connect(task_started, dispatch_uid="site.audit_task_started")
        task_postrun.connect(task_ended, dispatch_uid="site.audit_task_ended")
        connect_user_signals()
