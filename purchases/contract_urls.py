from django.urls import path

from . import views

app_name = "contracts"

urlpatterns = [
    path("", views.ContractListView.as_view(), name="list"),
    path("<str:code>/", views.ContractDetailView.as_view(), name="detail"),
    path("<str:code>/stop/", views.StopContractView.as_view(), name="stop"),
    path("<str:code>/end/", views.EndContractView.as_view(), name="end"),
    path("<str:code>/retry/", views.RetryContractView.as_view(), name="retry"),
    path("<str:code>/card/", views.ChangeCardView.as_view(), name="card"),
]
