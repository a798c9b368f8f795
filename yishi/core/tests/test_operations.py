"""What docs/operations.md promises: the deploy check passes with production settings, probes are not redirected."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[3]


def test_deploy_check_passes_with_production_environment(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "yishi.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://yishi.example.org",
        "SECURE_SSL_REDIRECT": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "YISHI_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "yishi.settings",
    }
    result = subprocess.run(
        [sys.executable, "-m", "yishi.cli", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@override_settings(SECURE_SSL_REDIRECT=True)
def test_health_probes_are_not_redirected_to_https(db):
    client = Client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/").status_code == 301
