from django.apps import AppConfig


class BenchConfig(AppConfig):
    """`manage.py benchmark` and its dataset, floor and naive variant: development only, not
    shipped in the wheel (pyproject's package list is the product's)."""

    name = "bench"
    default_auto_field = "django.db.models.BigAutoField"
