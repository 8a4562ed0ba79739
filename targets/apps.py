from django.apps import AppConfig


class TargetsConfig(AppConfig):
    name = "targets"
    verbose_name = "Milestones, targets and streaks"

    def ready(self):
        from config import pgtimestamps
        from targets import lookups  # noqa: F401  (registers the __any lookup)

        pgtimestamps.connect()
