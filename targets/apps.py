from django.apps import AppConfig


class TargetsConfig(AppConfig):
    name = "targets"
    verbose_name = "Milestones, targets and streaks"

    def ready(self):
        from config import pgtimestamps

        pgtimestamps.connect()
