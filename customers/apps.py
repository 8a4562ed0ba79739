from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers and orgs"

    def ready(self):
        from customers import schema  # noqa: F401  (registers the OpenAPI auth extensions)
