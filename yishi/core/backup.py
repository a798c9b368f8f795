"""``yishi backup`` / ``yishi restore``: one archive holding the database and the uploaded files, and a manifest
that lets a restore prove nothing was lost.

The archive is a plain tar:

* ``database.dump`` — PostgreSQL, ``pg_dump --format=custom`` — or ``database.sqlite3`` — SQLite, a copy made
  with SQLite's online backup API, consistent while the server writes;
* ``media/…`` — every file under ``MEDIA_ROOT`` (appeal photos, import files, research attachments);
* ``manifest.json`` — format, Yishi version, time, engine and versions, the applied Django migrations, the row
  count of every table, the audit chain head, and the size and SHA-256 of every other member.

On PostgreSQL the row counts are taken inside the very snapshot ``pg_dump`` dumps (``pg_export_snapshot()`` and
``pg_dump --snapshot``), so they match the dump exactly even while the server is busy. Uploaded files are copied
after the database: a file is written before the row that names it commits, so every file the dump references is
in the archive (a file uploaded meanwhile may be there without its row, which is harmless).

A restore checks the archive (checksums, manifest, migrations this code knows), refuses a target database or
media directory that is not empty unless forced, restores, then compares every table's row count with the
manifest and recomputes the audit chain.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connections, transaction

FORMAT = 1
MANIFEST = "manifest.json"
DB_MEMBER = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
MEDIA_PREFIX = "media/"
CHUNK = 1024 * 1024

Log = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


# --- helpers shared by both directions ---------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(cursor: Any, vendor: str) -> list[str]:
    """The tables of the database (PostgreSQL: of the current schema; partitions counted through their parent)."""
    if vendor == "postgresql":
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1"
        )
    else:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1")
    return [row[0] for row in cursor.fetchall()]


def table_counts(cursor: Any, vendor: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in _tables(cursor, vendor):
        cursor.execute(f"SELECT count(*) FROM {_quote(table)}")
        counts[table] = int(cursor.fetchone()[0])
    return counts


def _migrations(cursor: Any) -> list[list[str]]:
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
    return [[app, name] for app, name in cursor.fetchall()]


def _audit_head(cursor: Any) -> dict[str, Any] | None:
    from yishi.audit.models import AuditChainHead

    cursor.execute(f"SELECT last_seq, last_hash FROM {_quote(AuditChainHead._meta.db_table)} WHERE id = 1")
    row = cursor.fetchone()
    return {"last_seq": int(row[0]), "last_hash": row[1]} if row else None


def _vendor(alias: str = "default") -> str:
    vendor = connections[alias].vendor
    if vendor not in DB_MEMBER:
        raise BackupError(f"backups support PostgreSQL and SQLite, not {vendor}")
    return vendor


def _yishi_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("yishi")
    except PackageNotFoundError:
        return "unknown"


class _HashingReader(io.RawIOBase):
    """Reads a file for tarfile while hashing exactly the bytes that go into the archive."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        return data


def _sha256_of(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


# --- PostgreSQL client tools --------------------------------------------------------------------------------------


def _major(version: str) -> int:
    match = re.search(r"(\d+)(?:\.\d+)?", version)
    if match is None:
        raise BackupError(f"cannot read a PostgreSQL version from {version!r}")
    return int(match.group(1))


def pg_tool(name: str, server_major: int) -> tuple[str, str]:
    """The path and version of ``pg_dump`` / ``pg_restore`` to use with a server of ``server_major``.

    Looks in ``$YISHI_PG_BIN``, then Debian's versioned ``/usr/lib/postgresql/<major>/bin``, then ``PATH``. A
    client older than the server cannot dump it (and a restore needs one at least as new as the dump)."""
    candidates = []
    if os.environ.get("YISHI_PG_BIN"):
        candidates.append(Path(os.environ["YISHI_PG_BIN"]) / name)
    candidates.append(Path(f"/usr/lib/postgresql/{server_major}/bin") / name)
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    tool = next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)
    if tool is None:
        raise BackupError(
            f"{name} not found: install the PostgreSQL {server_major} client tools "
            f"(Debian: apt install postgresql-client-{server_major}) or set YISHI_PG_BIN to their directory"
        )
    result = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"\(PostgreSQL\)\s+(\d+(?:\.\d+)?)", result.stdout) if result.returncode == 0 else None
    version = match.group(1) if match else ""
    if not version or _major(version) < server_major:
        raise BackupError(
            f"{tool} is version {version or '?'}, older than the PostgreSQL {server_major} server: install "
            f"postgresql-client-{server_major} or set YISHI_PG_BIN=/usr/lib/postgresql/{server_major}/bin"
        )
    return str(tool), version


def _pg_env(alias: str = "default") -> dict[str, str]:
    """libpq environment for the client tools: the password never appears on a command line."""
    params = connections[alias].get_connection_params()
    env = dict(os.environ)
    mapping = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD", "dbname": "PGDATABASE",
               "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY"}
    for key, var in mapping.items():
        if params.get(key) not in (None, ""):
            env[var] = str(params[key])
    return env


def _pg_server_version(cursor: Any) -> str:
    cursor.execute("SHOW server_version")
    return str(cursor.fetchone()[0]).split(" ")[0]


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{what} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")


# --- backup -------------------------------------------------------------------------------------------------------


def _dump_postgresql(target: Path, log: Log) -> dict[str, Any]:
    """pg_dump inside a snapshot exported by a repeatable-read transaction, which also counts the rows."""
    import psycopg

    params = connections["default"].get_connection_params()
    with psycopg.connect(**params, autocommit=False) as conn, conn.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]  # type: ignore[index]
        server = _pg_server_version(cursor)
        tool, client = pg_tool("pg_dump", _major(server))
        info = {
            "server_version": server, "client_version": client,
            "tables": table_counts(cursor, "postgresql"), "migrations": _migrations(cursor),
            "audit_head": _audit_head(cursor),
        }
        log(f"pg_dump {client} from PostgreSQL {server}, snapshot {snapshot}")
        _run([tool, "--format=custom", f"--snapshot={snapshot}", f"--file={target}"], _pg_env(), "pg_dump")
        conn.rollback()
    return info


def _dump_sqlite(target: Path, log: Log) -> dict[str, Any]:
    """SQLite's online backup API: a consistent copy even while other connections write."""
    connection = connections["default"]
    if connection.in_atomic_block:
        # SQLite would wait for this connection's own write transaction to end: forever.
        raise BackupError("a SQLite backup must run outside a transaction")
    connection.ensure_connection()
    source = connection.connection
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        cursor = copy.cursor()
        info = {
            "server_version": sqlite3.sqlite_version, "client_version": sqlite3.sqlite_version,
            "tables": table_counts(cursor, "sqlite"), "migrations": _migrations(cursor),
            "audit_head": _audit_head(cursor),
        }
    finally:
        copy.close()
    log(f"SQLite {sqlite3.sqlite_version} online backup")
    return info


def _media_files(root: Path) -> Iterator[tuple[Path, str]]:
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if path.is_file() and not path.is_symlink():
                yield path, path.relative_to(root).as_posix()


def _add_file(tar: tarfile.TarFile, path: Path, arcname: str) -> dict[str, Any]:
    info = tar.gettarinfo(str(path), arcname)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with path.open("rb") as handle:
        reader = _HashingReader(handle)
        tar.addfile(info, reader)  # type: ignore[arg-type]
    return {"size": info.size, "sha256": reader.sha256.hexdigest()}


def default_backup_name(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"yishi-{socket.gethostname()}-{now.strftime('%Y%m%dT%H%M%SZ')}.tar"


def create_backup(output: Path, *, include_media: bool = True, log: Log = lambda _m: None) -> Path:
    """Write a backup archive to ``output`` (a file, or a directory to put a dated file in). Returns its path."""
    vendor = _vendor()
    output = Path(output)
    if output.is_dir():
        output = output / default_backup_name()
    if output.exists():
        raise BackupError(f"{output} already exists")
    output.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix=".yishi-backup-", dir=output.parent))
    partial = output.with_name(output.name + ".partial")
    try:
        db_file = workdir / DB_MEMBER[vendor]
        db = _dump_postgresql(db_file, log) if vendor == "postgresql" else _dump_sqlite(db_file, log)
        files: dict[str, dict[str, Any]] = {}
        media_root = Path(settings.MEDIA_ROOT)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # personal data: owner only
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            files[DB_MEMBER[vendor]] = _add_file(tar, db_file, DB_MEMBER[vendor])
            media_count = media_bytes = 0
            if include_media:
                for path, rel in _media_files(media_root):
                    entry = _add_file(tar, path, MEDIA_PREFIX + rel)
                    files[MEDIA_PREFIX + rel] = entry
                    media_count += 1
                    media_bytes += entry["size"]
            manifest = {
                "format": FORMAT,
                "yishi_version": _yishi_version(),
                "created_at": started.isoformat(),
                "finished_at": datetime.now(UTC).isoformat(),
                "host": socket.gethostname(),
                "engine": vendor,
                **db,
                "media": {"included": include_media, "files": media_count, "bytes": media_bytes},
                "files": files,
            }
            data = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(started.timestamp())
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
        log(f"{len(db['tables'])} tables, {sum(db['tables'].values())} rows, {media_count} media files ({media_bytes} bytes)")
        os.replace(partial, output)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        partial.unlink(missing_ok=True)
    return output


# --- reading and checking an archive -------------------------------------------------------------------------------


@dataclass
class Archive:
    path: Path
    manifest: dict[str, Any]

    @property
    def engine(self) -> str:
        return str(self.manifest["engine"])


def _safe_name(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not name.startswith("/") and ".." not in parts and "\\" not in name


def open_archive(path: Path) -> Archive:
    """Read and check an archive: a tar of regular files with safe names, a manifest of a known format, and every
    member listed in it present with its size and SHA-256. Anything else is refused with the reason."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = tar.getmembers()
            by_name = {m.name: m for m in members}
            for member in members:
                if not (member.isfile() or member.isdir()) or not _safe_name(member.name):
                    raise BackupError(f"{path}: refusing member {member.name!r} (not a plain file with a safe name)")
            if MANIFEST not in by_name:
                raise BackupError(f"{path}: not a Yishi backup (no {MANIFEST})")
            try:
                manifest = json.loads(tar.extractfile(by_name[MANIFEST]).read())  # type: ignore[union-attr]
            except (ValueError, UnicodeDecodeError) as exc:
                raise BackupError(f"{path}: the manifest is damaged ({exc})") from exc
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise BackupError(f"{path}: unknown backup format {manifest.get('format') if isinstance(manifest, dict) else '?'}")
            if manifest.get("engine") not in DB_MEMBER or DB_MEMBER[manifest["engine"]] not in manifest.get("files", {}):
                raise BackupError(f"{path}: the manifest names no database dump")
            listed = manifest["files"]
            extra = sorted(set(by_name) - set(listed) - {MANIFEST} - {m.name for m in members if m.isdir()})
            if extra:
                raise BackupError(f"{path}: members not in the manifest: {', '.join(extra[:5])}")
            for name, expected in listed.items():
                found = by_name.get(name)
                if found is None:
                    raise BackupError(f"{path}: {name} is listed in the manifest but missing")
                if found.size != expected["size"]:
                    raise BackupError(f"{path}: {name} has {found.size} bytes, the manifest says {expected['size']}")
                if _sha256_of(tar.extractfile(found)) != expected["sha256"]:  # type: ignore[arg-type]
                    raise BackupError(f"{path}: {name} is corrupted (SHA-256 does not match the manifest)")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"{path}: not a readable backup archive ({exc})") from exc
    return Archive(path, manifest)


# --- restore ------------------------------------------------------------------------------------------------------


def _known_migrations() -> set[tuple[str, str]]:
    from django.db.migrations.loader import MigrationLoader

    return set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)


def _database_is_empty(vendor: str) -> tuple[bool, str]:
    with connections["default"].cursor() as cursor:
        tables = _tables(cursor, vendor)
    return (not tables), f"{len(tables)} tables"


def _media_is_empty(root: Path) -> bool:
    return next(_media_files(root), None) is None


_NOT_FROM_EXTENSION = "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"


def _drop_everything_postgresql() -> None:
    """--force on PostgreSQL: drop what the current schema holds — views, tables (with their identity sequences and
    triggers), remaining sequences, functions, enum and domain types — but not what extensions own. One
    transaction: a failure leaves the database as it was."""
    relations = {"v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE", "r": "TABLE", "p": "TABLE", "S": "SEQUENCE"}
    with transaction.atomic(), connections["default"].cursor() as cursor:
        for relkind, kind in relations.items():
            cursor.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND c.relkind = %s AND NOT c.relispartition AND "
                + _NOT_FROM_EXTENSION.format(oid="c.oid"),
                [relkind],
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f"DROP {kind} IF EXISTS {_quote(name)} CASCADE")
        cursor.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = current_schema() AND " + _NOT_FROM_EXTENSION.format(oid="p.oid")
        )
        for (signature,) in cursor.fetchall():
            cursor.execute(f"DROP ROUTINE IF EXISTS {signature} CASCADE")
        cursor.execute(
            "SELECT t.oid::regtype::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            " WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd') AND "
            + _NOT_FROM_EXTENSION.format(oid="t.oid")
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP TYPE IF EXISTS {name} CASCADE")


def _restore_postgresql(dump: Path, archive: Archive, force: bool, log: Log) -> None:
    with connections["default"].cursor() as cursor:
        server = _pg_server_version(cursor)
    tool, client = pg_tool("pg_restore", _major(server))
    dumped_with = str(archive.manifest.get("client_version", "0"))
    if _major(client) < _major(dumped_with):
        raise BackupError(
            f"pg_restore {client} cannot read an archive written by pg_dump {dumped_with}: install "
            f"postgresql-client-{_major(dumped_with)} or set YISHI_PG_BIN"
        )
    if _major(server) < _major(str(archive.manifest.get("server_version", "0"))):
        log(f"warning: restoring a PostgreSQL {archive.manifest['server_version']} dump into an older server {server}")
    if force:
        _drop_everything_postgresql()
    connections["default"].close()
    log(f"pg_restore {client} into PostgreSQL {server}")
    _run(
        [tool, "--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges",
         f"--dbname={_pg_env()['PGDATABASE']}", str(dump)],
        _pg_env(), "pg_restore",
    )


def _restore_sqlite(copy: Path, log: Log) -> None:
    name = str(settings.DATABASES["default"]["NAME"])
    connections["default"].close()
    source = sqlite3.connect(copy)
    target = sqlite3.connect(name)
    try:
        source.backup(target)  # replaces every page of the target, in one step
    finally:
        source.close()
        target.close()
    log(f"SQLite database {name} replaced")


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    assert source is not None
    tmp = destination.with_name(destination.name + ".restoring")
    with source, tmp.open("wb") as out:
        shutil.copyfileobj(source, out, CHUNK)
    os.replace(tmp, destination)


@dataclass
class RestoreReport:
    tables: int
    rows: int
    media_files: int
    audit_events: int


def restore_backup(
    path: Path, *, force: bool = False, include_media: bool = True, log: Log = lambda _m: None
) -> RestoreReport:
    """Restore an archive into the configured database and MEDIA_ROOT, then prove it: row counts as in the
    manifest, the audit chain intact and ending where it ended, media files with their checksums."""
    archive = open_archive(path)
    manifest = archive.manifest
    vendor = _vendor()
    if archive.engine != vendor:
        raise BackupError(
            f"this backup is of a {archive.engine} database and the target is {vendor}: restore into the same kind"
        )
    unknown = {tuple(m) for m in manifest["migrations"]} - _known_migrations()
    if unknown:
        sample = ", ".join(f"{app}.{name}" for app, name in sorted(unknown)[:3])
        raise BackupError(f"the backup was made by a newer Yishi (migrations {sample} are unknown here): upgrade first")
    empty, what = _database_is_empty(vendor)
    media_root = Path(settings.MEDIA_ROOT)
    media_empty = not include_media or _media_is_empty(media_root)
    if not (empty and media_empty) and not force:
        where = [] if empty else [f"the database already has {what}"]
        where += [] if media_empty else [f"{media_root} already holds files"]
        raise BackupError(f"refusing to overwrite: {' and '.join(where)}. Restore into an empty database, or pass --force")

    media_files = 0
    with tempfile.TemporaryDirectory(prefix=".yishi-restore-") as tmp, tarfile.open(archive.path, mode="r:") as tar:
        db_name = DB_MEMBER[vendor]
        db_copy = Path(tmp) / db_name
        _extract(tar, tar.getmember(db_name), db_copy)
        with db_copy.open("rb") as handle:
            stable = _sha256_of(handle) == manifest["files"][db_name]["sha256"]
        if not stable:
            raise BackupError(f"{db_name} changed while being read: the archive is not stable")
        if vendor == "postgresql":
            _restore_postgresql(db_copy, archive, force, log)
        else:
            _restore_sqlite(db_copy, log)
        if include_media:
            for name, expected in manifest["files"].items():
                if not name.startswith(MEDIA_PREFIX):
                    continue
                target = media_root / name[len(MEDIA_PREFIX):]
                _extract(tar, tar.getmember(name), target)
                with target.open("rb") as handle:
                    if _sha256_of(handle) != expected["sha256"]:
                        raise BackupError(f"{target}: restored file does not match its checksum")
                media_files += 1
    return _verify_restored(manifest, vendor, media_files, log)


def _verify_restored(manifest: dict[str, Any], vendor: str, media_files: int, log: Log) -> RestoreReport:
    from yishi.audit.models import AuditEvent
    from yishi.audit.services import verify_chain

    with connections["default"].cursor() as cursor:
        counts = table_counts(cursor, vendor)
        head = _audit_head(cursor)
    expected: dict[str, int] = manifest["tables"]
    wrong = [f"{t}: {counts.get(t, 'missing')} rows, expected {n}" for t, n in sorted(expected.items()) if counts.get(t) != n]
    if wrong:
        raise BackupError("restored row counts differ from the manifest: " + "; ".join(wrong[:10]))
    problems = verify_chain()
    if problems:
        raise BackupError(f"audit chain broken after restore: {problems[0]} ({len(problems)} problem(s))")
    if head != manifest.get("audit_head"):
        raise BackupError(f"audit chain head is {head}, the manifest says {manifest.get('audit_head')}")
    events = AuditEvent.objects.count()
    log(f"verified: {len(counts)} tables, {sum(counts.values())} rows as in the manifest; audit chain intact: {events} events")
    return RestoreReport(len(counts), sum(counts.values()), media_files, events)
