"""Throttled log-in forms for the staff pages and the admin (issue 15 §3).

A log-in form verifies a password exactly as HTTP Basic does (a full PBKDF2 check), so it is
throttled by the same counters, per client address and per username (customers/throttling.py):
a wrong password through the form and one through the API count against one budget. Past the
limit the form answers 429 with Retry-After and a message in words, before any hashing.
"""

from functools import wraps

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from customers import throttling


class ThrottledLogin:
    """Mixin for Django's AuthenticationForm: refuse before verifying when over the limit, and
    count every wrong password."""

    throttled_wait = None

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if self.request is not None:
            try:
                throttling.check(self.request, username)
            except throttling.TooManyFailures as refused:
                self.throttled_wait = refused.wait
                raise ValidationError(
                    "Too many failed log-in attempts. Try again in %(wait)s seconds.",
                    code="throttled",
                    params={"wait": refused.wait},
                ) from None
        try:
            return super().clean()
        except ValidationError as error:
            if self.request is not None and error.code == "invalid_login":
                throttling.record_failure(self.request, username)
            raise


class ThrottledAuthenticationForm(ThrottledLogin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLogin, AdminAuthenticationForm):
    pass


def throttled_status(view):
    """Answer 429 with Retry-After when the log-in form was refused by the throttle (the page
    itself, with its message, is the body)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        form = (getattr(response, "context_data", None) or {}).get("form")
        wait = getattr(form, "throttled_wait", None)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response

    return wrapper
