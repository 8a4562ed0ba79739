"""Achievement events (issue 16): a transactional outbox written by the engine, a feed that
reads it, and signed webhooks that deliver it. See docs/events.md."""
