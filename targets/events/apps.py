from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "targets.events"
    label = "events"
    verbose_name = "Achievement events and webhooks"
    default_auto_field = "django.db.models.BigAutoField"
