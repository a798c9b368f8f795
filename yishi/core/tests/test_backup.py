"""``yishi backup`` / ``yishi restore``: a round trip loses nothing (every row of every table, the audit chain, the
uploaded files), a damaged archive is refused with the reason, and a non-empty target is not overwritten.

The round trip restores through the real command in a separate process pointed at a scratch database, as an
operator would: a SQLite file, or — when the suite runs on PostgreSQL — a scratch database the test creates and
drops itself.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from PIL import Image

from yishi.appeals.choices import AppealState
from yishi.appeals.models import Attachment
from yishi.appeals.services import AppealInput, appeal_submit
from yishi.appeals.testing import drive_to
from yishi.audit.models import AuditEvent
from yishi.core.backup import BackupError, _tables, create_backup, open_archive, pg_tool


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _populate(world) -> None:
    """Appeals in several states (so many audit events), one with a photo in MEDIA_ROOT."""
    for state in (AppealState.RECEIVED, AppealState.DISPATCHED, AppealState.CLOSED, AppealState.MERGED):
        drive_to(world, state)
    data = AppealInput(
        nature="complaint", category_id=world.cat_lift.pk, title="楼道灯坏了", text="三号楼楼道灯坏了一个月",
        org_unit_id=world.tree.community_a1.pk,
        photos=[SimpleUploadedFile("灯.png", _png(), content_type="image/png")],
    )
    appeal_submit(actor=world.resident, data=data)
    assert Attachment.objects.count() == 1 and AuditEvent.objects.count() > 10


def _rows(cursor, vendor: str) -> dict[str, list[tuple]]:
    tables = _tables(cursor, vendor)
    result = {}
    for table in tables:
        cursor.execute(f'SELECT * FROM "{table}"')
        result[table] = sorted((tuple(row) for row in cursor.fetchall()), key=repr)
    return result


def _restore_in_a_process(archive: Path, database_url: str, data_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "yishi.test_settings", "DATABASE_URL": database_url,
        "YISHI_DATA_DIR": str(data_dir), "MEDIA_ROOT": str(data_dir / "media"),
    }
    return subprocess.run(
        [sys.executable, "-m", "yishi.cli", "restore", str(archive), *extra],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )


def _same_media(source: Path, restored: Path) -> None:
    files = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
    assert files, "the test data has uploaded files"
    assert files == sorted(p.relative_to(restored) for p in restored.rglob("*") if p.is_file())
    for rel in files:
        assert (source / rel).read_bytes() == (restored / rel).read_bytes()


@pytest.mark.django_db(transaction=True)
def test_sqlite_round_trip_loses_nothing(world, media, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the suite runs on PostgreSQL")
    _populate(world)
    (tmp_path / "backups").mkdir()
    archive = create_backup(tmp_path / "backups")  # a directory: a dated archive inside
    assert archive.parent == tmp_path / "backups" and archive.name.startswith("yishi-")
    assert archive.stat().st_mode & 0o077 == 0  # personal data: owner only

    restored = tmp_path / "restored"
    result = _restore_in_a_process(archive, f"sqlite:///{restored / 'yishi.sqlite3'}", restored)
    assert result.returncode == 0, result.stderr
    assert f"audit chain intact: {AuditEvent.objects.count()} events" in result.stdout

    with connection.cursor() as cursor:
        before = _rows(cursor, "sqlite")
    copy = sqlite3.connect(restored / "yishi.sqlite3", detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES)
    try:
        after = _rows(copy.cursor(), "sqlite")
    finally:
        copy.close()
    assert before.keys() == after.keys()
    for table in before:
        assert before[table] == after[table], table
    _same_media(media, restored / "media")

    # The restored copy is a working database: a second restore onto it is refused, --force replaces it.
    again = _restore_in_a_process(archive, f"sqlite:///{restored / 'yishi.sqlite3'}", restored)
    assert again.returncode != 0 and "refusing to overwrite" in again.stderr
    forced = _restore_in_a_process(archive, f"sqlite:///{restored / 'yishi.sqlite3'}", restored, "--force")
    assert forced.returncode == 0, forced.stderr

    # The counts are checked after restoring: a manifest claiming one more audit event than the dump holds fails.
    lying = _with_manifest(archive, tmp_path / "lying.tar", lambda m: m["tables"].update(
        audit_auditevent=m["tables"]["audit_auditevent"] + 1))
    result = _restore_in_a_process(lying, f"sqlite:///{restored / 'yishi.sqlite3'}", restored, "--force")
    assert result.returncode != 0
    assert "restored row counts differ from the manifest: audit_auditevent" in result.stderr


def _with_manifest(source: Path, target: Path, change) -> Path:
    """A copy of an archive whose manifest was edited (its members' checksums still hold)."""
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
                member.size = len(data)
            new.addfile(member, io.BytesIO(data))
    return target


@pytest.fixture
def scratch_postgres():
    """A PostgreSQL database of its own for the restore, created and dropped here."""
    import psycopg

    settings_dict = connection.settings_dict
    name = f"{settings_dict['NAME']}_restore"[:63]
    params = {
        "host": settings_dict["HOST"] or None, "port": settings_dict["PORT"] or None,
        "user": settings_dict["USER"] or None, "password": settings_dict["PASSWORD"] or None,
    }
    params = {k: v for k, v in params.items() if v is not None}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    auth = settings_dict["USER"] + (f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else "")
    url = f"postgres://{auth}@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/{name}"
    try:
        yield url, lambda dbname: psycopg.connect(dbname=dbname, **params)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_postgresql_round_trip_loses_nothing(world, media, tmp_path, request):
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not point at PostgreSQL")
    url, connect = request.getfixturevalue("scratch_postgres")
    _populate(world)
    archive = create_backup(tmp_path / "yishi.tar")
    manifest = open_archive(archive).manifest
    assert manifest["engine"] == "postgresql" and manifest["tables"]["audit_auditevent"] == AuditEvent.objects.count()

    restored = tmp_path / "restored"
    result = _restore_in_a_process(archive, url, restored)
    assert result.returncode == 0, result.stderr
    assert f"audit chain intact: {AuditEvent.objects.count()} events" in result.stdout

    source_name, target_name = connection.settings_dict["NAME"], url.rsplit("/", 1)[1]
    with connect(source_name) as source, connect(target_name) as target:
        before, after = _rows(source.cursor(), "postgresql"), _rows(target.cursor(), "postgresql")
        # Sequences come back too: the next id continues after the restored rows.
        last = target.execute("SELECT max(id) FROM audit_auditevent").fetchone()[0]
        next_id = target.execute("SELECT nextval(pg_get_serial_sequence('audit_auditevent', 'id'))").fetchone()[0]
    assert before.keys() == after.keys()
    for table in before:
        assert before[table] == after[table], table
    assert next_id > last
    _same_media(media, restored / "media")

    again = _restore_in_a_process(archive, url, restored)
    assert again.returncode != 0 and "refusing to overwrite" in again.stderr
    forced = _restore_in_a_process(archive, url, restored, "--force")
    assert forced.returncode == 0, forced.stderr


# --- refusals ----------------------------------------------------------------------------------------------------


@pytest.fixture
def archive(transactional_db, media, tmp_path):
    media.mkdir(parents=True)
    (media / "appeals").mkdir()
    (media / "appeals" / "photo.jpg").write_bytes(b"\xff\xd8not really a photo")
    return create_backup(tmp_path / "yishi.tar")


def _flip_byte(path: Path, member: str, at: int = 10) -> None:
    with tarfile.open(path) as tar:
        offset = tar.getmember(member).offset_data + at
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_a_corrupted_database_dump_is_refused(archive):
    member = "database.dump" if connection.vendor == "postgresql" else "database.sqlite3"
    _flip_byte(archive, member)
    with pytest.raises(CommandError, match=rf"{member} is corrupted \(SHA-256 does not match the manifest\)"):
        call_command("restore", str(archive), "--force")
    with pytest.raises(CommandError, match="corrupted"):
        call_command("restore", str(archive), "--check")


def test_a_corrupted_media_file_is_refused(archive):
    _flip_byte(archive, "media/appeals/photo.jpg", at=2)
    with pytest.raises(CommandError, match=r"media/appeals/photo.jpg is corrupted"):
        call_command("restore", str(archive), "--check")


def test_a_truncated_or_foreign_file_is_refused(archive, tmp_path):
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(CommandError, match=r"truncated\.tar: "):
        call_command("restore", str(truncated), "--check")
    foreign = tmp_path / "notes.tar"
    with tarfile.open(foreign, "w") as tar:
        tar.add(__file__, arcname="notes.py")
    with pytest.raises(CommandError, match=r"not a Yishi backup \(no manifest.json\)"):
        call_command("restore", str(foreign), "--check")
    with pytest.raises(CommandError, match="no such file"):
        call_command("restore", str(tmp_path / "missing.tar"))


def test_a_non_empty_database_is_not_overwritten_without_force(archive, capsys):
    call_command("restore", str(archive), "--check")
    assert "archive intact" in capsys.readouterr().out
    with pytest.raises(CommandError, match="refusing to overwrite: the database already has"):
        call_command("restore", str(archive))


def test_a_missing_or_old_pg_dump_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("YISHI_PG_BIN", raising=False)
    with pytest.raises(BackupError, match=r"pg_dump not found: install the PostgreSQL 99 client tools"):
        pg_tool("pg_dump", 99)
    old = tmp_path / "old"
    old.mkdir()
    (old / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.11'\n")
    (old / "pg_dump").chmod(0o755)
    monkeypatch.setenv("YISHI_PG_BIN", str(old))
    with pytest.raises(BackupError, match=r"version 14.11, older than the PostgreSQL 99 server"):
        pg_tool("pg_dump", 99)
    assert pg_tool("pg_dump", 14) == (str(old / "pg_dump"), "14.11")
