from django.apps import AppConfig


class TargetsConfig(AppConfig):
    name = "targets"
    verbose_name = "Milestones, targets and streaks"

    def ready(self):
        from config import pgtimestamps
        from targets import lookups  # noqa: F401  (registers the __any lookup)

        pgtimestamps.connect()

        from django.db.models.signals import post_migrate

        from targets.enrolment_guard import restore_after_migrate

        post_migrate.connect(restore_after_migrate, sender=self, dispatch_uid="targets-enrolment-guard")
