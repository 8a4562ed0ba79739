"""The suite's settings: the service's own (config.settings) in development mode.

DEBUG is off unless the environment turns it on (docs/security.md), and settings refuse to start
without SECRET_KEY and ALLOWED_HOSTS when it is off; the suite sets DEBUG=1 for the import of the
settings only when the environment leaves it unset, so subprocesses started by tests (gunicorn,
manage.py) still see the caller's environment as it was."""

import os

from django.conf import global_settings

_unset = "DEBUG" not in os.environ
if _unset:
    os.environ["DEBUG"] = "1"
try:
    from config.settings import *  # noqa: F403
finally:
    if _unset:
        del os.environ["DEBUG"]

# The end-to-end webhook tests deliver to a receiver on 127.0.0.1 (docs/events.md: allowed only
# when a setting says so); the SSRF tests turn it off where they check the refusal.
WEBHOOKS_ALLOW_PRIVATE_URLS = True

# Django's PBKDF2 costs about a second per password on a small CI machine, and the suite creates
# and checks hundreds (demo logins seeded again after every committing test, OAuth clients, Basic
# credentials): the suite hashes with MD5, as Django's testing docs advise. What production stores
# is checked with the default hashers (tests/security/test_deploy_settings.py, "secrets at rest").
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *global_settings.PASSWORD_HASHERS]
