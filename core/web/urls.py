from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.SignInView.as_view(), name="sign-in"),
    path("sign-out/", views.SignOutView.as_view(), name="sign-out"),
    path("second-factor/", views.second_factor_verify, name="second-factor"),
    path("second-factor/set-up/", views.second_factor_setup, name="second-factor-setup"),
    path("second-factor/backup-codes/", views.backup_codes, name="backup-codes"),
]
