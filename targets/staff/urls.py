"""Staff pages under /staff/ (SPEC §6); log-in (throttled, customers/login.py) and log-out with
Django's auth views."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from customers.login import ThrottledAuthenticationForm, throttled_status
from targets.staff import views

app_name = "staff"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="staff:customer-search"), name="home"),
    path(
        "login/",
        throttled_status(
            auth_views.LoginView.as_view(
                redirect_authenticated_user=True, authentication_form=ThrottledAuthenticationForm
            )
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("customers/", views.customer_search, name="customer-search"),
    path("customers/<int:user_id>/", views.customer_detail, name="customer-detail"),
    path("customers/<int:user_id>/data.json", views.customer_data, name="customer-data"),
    path("programs/", views.program_list, name="program-list"),
    path("programs/<int:group_id>/", views.program_detail, name="program-detail"),
]
