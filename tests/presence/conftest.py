import pytest

from tests.conftest import settings_for_tests
from tests.webhooks.fixtures import deliver_until, make_webhook, receiver, webhook_settings  # noqa: F401
from webapp import create_app
from webapp.extensions import db


@pytest.fixture
def second_worker(app, database_url):
    """Another app on the same database, with its own connections: what a second worker process is."""
    other = create_app(settings_for_tests(database_url) | {"TESTING": True})
    yield other
    other.extensions["broker"].close()
    with other.app_context():
        db.engine.dispose()
