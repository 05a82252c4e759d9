"""The buyer's self-service pages, mounted under /my/ in config/urls.py (namespace
`self_service`)."""

from django.urls import path

from . import views

urlpatterns = [
    path("new-link/", views.fresh_link_for_address, name="fresh_link"),
    path("<str:token>/", views.home, name="home"),
    path("<str:token>/new-link/", views.fresh_link_for_link, name="fresh_link_for_link"),
    *(
        path(f"<str:token>/{action}/", views.contract_action, {"action": action}, name=action)
        for action in views.ACTIONS
    ),
]
