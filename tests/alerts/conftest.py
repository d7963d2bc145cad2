from tests.webhooks.fixtures import deliver_until, make_webhook, receiver, webhook_settings  # noqa: F401
