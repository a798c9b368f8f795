"""The reference of the HTTP intake figure: a bare Django view answering an intake POST with the same JSON as the
API's receipt, through the same middleware and server. Routed only when ``YISHI_BENCH=1`` (yishi/urls.py)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

# The shape and size of AppealReceiptOut as the API serialises it (ASCII-escaped, like django-ninja's renderer).
RECEIPT = {
    "id": 1000001,
    "tracking_code": "A2026112100001234",
    "state": "received",
    "title": "小区门口路灯不亮，晚上出行不便",
    "received_at": "2026-11-21T16:00:00.123456+08:00",
    "org_unit_id": 1234,
    "handling_level_id": 1200,
}


@csrf_exempt  # like the API, which authenticates machine callers by token
@require_POST
def bare_intake(request: HttpRequest) -> JsonResponse:
    return JsonResponse(RECEIPT, status=201)
