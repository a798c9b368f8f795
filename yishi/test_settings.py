"""Settings for the test suite: the real settings plus a sample app used to test the workflow machinery."""

import os

os.environ.setdefault("YISHI_PLAIN_STATIC", "1")

from yishi.settings import *  # noqa: F403
from yishi.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "yishi.core.tests.sample"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "django.contrib.auth.hashers.Argon2PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
YISHI_API_ANON_RATE = "100000/min"
YISHI_API_USER_RATE = "100000/min"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# The dashboards' read replica is a test mirror of the primary: one database, the routing still exercised. The
# router is off by default (tests reaching the replica alias must declare it); yishi/core/tests/test_db_router.py
# turns it on.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = []
