"""Fixtures shared by every app's tests."""

import pytest
from django.utils import translation

from prevenance import celery_app
from prevenance.customers.tests.factories import UserFactory


@pytest.fixture(autouse=True, scope="session")
def _tasks_run_where_they_are_enqueued():
    """No worker in unit tests: a task enqueued on commit runs then and there, errors raised.
    The worker tests (core/tests/test_tasks_worker.py) start a real worker on their own app."""
    celery_app.conf.update(task_always_eager=True, task_eager_propagates=True)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Django's default hasher spends about 0.6 s of CPU on each password on purpose; the tests
    create a user or more in most cases (the role fixtures), so that was half of CI's time.
    Tests check who may do what, not the hasher: MD5 here, the real one everywhere else."""
    from django.test.utils import override_settings

    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    fast.enable()
    yield
    fast.disable()


@pytest.fixture(autouse=True, scope="session")
def _static_files_by_their_own_names():
    """Pages under test name static files as the apps hold them ("cases/shortcuts.js"), which
    WhiteNoise serves from the apps (WHITENOISE_USE_FINDERS). After `make run`, var/static holds
    collectstatic's manifest, and the cache-busting storage would name "shortcuts.c24f….js",
    which the apps do not have: `make test` after `make run` failed every browser test that
    needs a script or a style sheet."""
    from django.conf import settings
    from django.test.utils import override_settings

    plain = override_settings(STORAGES={
        **settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    })
    plain.enable()
    yield
    plain.disable()


@pytest.fixture(autouse=True, scope="session")
def _files_stored_out_of_the_checkout(tmp_path_factory):
    """Files the tests store (attachments, raw emails, suspended messages) go to a folder of
    their own, not to var/media, which holds the files of `make run`'s data: tests that do not
    set MEDIA_ROOT themselves wrote there and left their files behind."""
    from django.test.utils import override_settings

    media = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")))
    media.enable()
    yield
    media.disable()


@pytest.fixture(autouse=True)
def _case_number_sequences_checked_again():
    """A test's transaction rolls back the year's case-number sequence (PostgreSQL) that an
    intake created, but a test that runs the on-commit callbacks marks it as created in this
    process: forget that, so the next test creates it again (cases/services/numbering.py)."""
    from prevenance.cases.services import numbering

    numbering._known_years.clear()
    yield
    numbering._known_years.clear()


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A request through LocaleMiddleware leaves its language active in the thread (the test
    client runs in the test's thread): the next test starts from the default again."""
    yield
    translation.deactivate()


@pytest.fixture
def agent(db):
    return UserFactory(username="agent", role="agent")


@pytest.fixture
def supervisor(db):
    return UserFactory(username="supervisor", role="supervisor")


@pytest.fixture
def marketer(db):
    return UserFactory(username="marketer", role="marketing")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role="admin")


@pytest.fixture
def nobody(db):
    """A logged-in user with no role at all."""
    return UserFactory(username="nobody")


@pytest.fixture
def refusing_mail(settings):
    """The test outbox behind a server that refuses the recipients the test names
    (core/tests/mail.py: `refused`, `rejected`, `drops`); returns the backend to set them on."""
    from prevenance.core.tests.mail import RefusingBackend

    settings.EMAIL_BACKEND = f"{RefusingBackend.__module__}.{RefusingBackend.__qualname__}"
    RefusingBackend.reset()
    return RefusingBackend
