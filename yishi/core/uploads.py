"""Uploaded files checked against a policy profile's limits: how many, how large, and of which kind.

The kind is read from the file's content (the image decoder, the PDF header, the parts inside an Office Open XML
package), never from its name or the content type the browser sent: a text file renamed ``.jpg`` or ``.pdf`` is
refused. Each caller passes the numbers from its own policy keys and the error codes its API promises, so appeals'
photos and consultations' research attachments give the same kind of answer through one check.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import IO, Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from .errors import InvalidInput

IMAGE_KINDS = ("jpeg", "png", "gif", "webp")


@dataclass(frozen=True)
class FileKind:
    name: str
    content_type: str
    label: str


KINDS: dict[str, FileKind] = {
    kind.name: kind
    for kind in (
        FileKind("jpeg", "image/jpeg", "JPEG"),
        FileKind("png", "image/png", "PNG"),
        FileKind("gif", "image/gif", "GIF"),
        FileKind("webp", "image/webp", "WEBP"),
        FileKind("pdf", "application/pdf", "PDF"),
        FileKind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word (docx)"),
        FileKind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel (xlsx)"),
        FileKind("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "PowerPoint (pptx)"),
    )
}
_PIL_FORMATS = {"JPEG": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
_OOXML_PARTS = {"word/": "docx", "xl/": "xlsx", "ppt/": "pptx"}


def _image_kind(file: IO[bytes]) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as img:
            img.verify()
            return _PIL_FORMATS.get(str(img.format))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None


def _ooxml_kind(file: IO[bytes]) -> str | None:
    # Only the central directory is read: names, never the compressed contents.
    try:
        with zipfile.ZipFile(file) as package:
            names = package.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for prefix, kind in _OOXML_PARTS.items():
        if any(name.startswith(prefix) for name in names):
            return kind
    return None


def sniff(file: IO[bytes], allowed: Collection[str] = tuple(KINDS)) -> str | None:
    """The kind of ``file`` among ``allowed``, read from its content; None when it is none of them."""
    file.seek(0)
    head = file.read(8)
    checks: list[tuple[bool, Callable[[IO[bytes]], str | None]]] = [
        (head.startswith(b"%PDF-"), lambda f: "pdf"),
        (head.startswith(b"PK\x03\x04"), _ooxml_kind),
        (True, _image_kind),
    ]
    try:
        for applies, check in checks:
            if not applies:
                continue
            file.seek(0)
            kind = check(file)
            if kind is not None:
                return kind if kind in allowed else None
        return None
    finally:
        file.seek(0)


@dataclass(frozen=True)
class UploadRules:
    """The limits (from a policy profile) and how the errors name the files and which codes they carry."""

    max_count: int
    max_bytes: int
    kinds: Collection[str]
    noun: str = "文件"
    noun_en: str = "file"
    measure: str = "个"
    kind_noun: str = ""  # what a file of the wrong kind is not ("图片"); the noun when empty
    too_many_code: str = "too_many_files"
    too_large_code: str = "file_too_large"
    wrong_kind_code: str = "file_type_not_allowed"


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:g} MB"
    if size >= 1024:
        return f"{size / 1024:g} KB"
    return f"{size} B"


def kinds_label(kinds: Collection[str]) -> str:
    return "、".join(KINDS[k].label for k in kinds if k in KINDS)


def validate_uploads(files: Sequence[UploadedFile], rules: UploadRules, *, field: str) -> None:
    """Refuse the whole batch, naming ``field``, when there are too many files, one is too large or one is not of
    an allowed kind. Each accepted file's ``content_type`` is set from its sniffed kind."""

    def bad(zh: str, en: str, code: str) -> InvalidInput:
        return InvalidInput(zh, en, field=field, code=code)

    if len(files) > rules.max_count:
        raise bad(f"最多上传 {rules.max_count} {rules.measure}{rules.noun}",
                  f"At most {rules.max_count} {rules.noun_en}s", rules.too_many_code)
    allowed = [k for k in rules.kinds if k in KINDS]
    for file in files:
        if file.size is None or file.size > rules.max_bytes:
            raise bad(f"“{file.name}”超过 {human_size(rules.max_bytes)}，{rules.noun}不能超过 {human_size(rules.max_bytes)}",
                      f"{file.name} is larger than {human_size(rules.max_bytes)}", rules.too_large_code)
        kind = sniff(file, allowed)
        if kind is None:
            raise bad(f"“{file.name}”不是有效的{rules.kind_noun or rules.noun}，仅支持 {kinds_label(allowed)}",
                      f"{file.name} is not an accepted {rules.noun_en}: only {kinds_label(allowed)}", rules.wrong_kind_code)
        file.content_type = KINDS[kind].content_type


def accept_attribute(kinds: Collection[str]) -> str:
    """The ``accept`` attribute of a file input for these kinds."""
    return ",".join(KINDS[k].content_type for k in kinds if k in KINDS)


def upload_name(file: UploadedFile, max_length: int = 200) -> str:
    """The uploaded file's name cut to a column's length (uploads from a request always have one)."""
    return (file.name or "file")[:max_length]


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class FilesField(forms.FileField):
    """Several files under one name, for page forms. Count, size and kind are the service's checks
    (``validate_uploads``), so that pages and API give the same answers."""

    widget = MultipleFileInput

    def __init__(self, *, accept: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        if accept:
            self.widget.attrs.setdefault("accept", accept)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []
