"""Serving stored files (research attachments) to those who may see them: never a public media URL."""

from __future__ import annotations

from django.http import FileResponse
from django.utils.cache import patch_cache_control

from .models import ResearchAttachment

# Shown in the browser; anything else (PDF, Office documents) is downloaded, so an uploaded document never runs as
# a page of this site.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def attachment_response(item: ResearchAttachment) -> FileResponse:
    content_type = item.content_type or "application/octet-stream"
    response = FileResponse(
        item.file.open("rb"), content_type=content_type, as_attachment=content_type not in INLINE_TYPES,
        filename=item.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    patch_cache_control(response, private=True, max_age=3600)
    return response
