"""The benchmark of issue 7 (`python manage.py benchmark`): a synthetic dataset, the physical
floor and a naive implementation of the read endpoint to compare with, and the measurement
helpers. Nothing here is imported by the application itself, and the wheel does not ship it."""
