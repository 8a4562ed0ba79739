"""/v3/targetGroups (the configuration API, SPEC §5)."""

urlpatterns = []
