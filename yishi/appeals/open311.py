"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), mounted at ``/open311/v2/``.

An adapter over the appeals services, so that 311 apps and city dashboards can read and file appeals:

* services are the leaves of our category catalogue (``service_code`` = category code, ``group`` = its level-1
  name); each has a service definition whose attributes carry what an appeal needs beyond the spec's fields (the
  nature 咨询/求助/投诉/举报/建议, an optional title, consent to a callback);
* ``POST requests`` files an appeal through ``services.appeal_submit`` on the resident's behalf, channel
  ``open311``; the ``api_key`` is an API token with the ``write`` scope whose user holds an intake role over the
  place. We answer synchronously, so ``service_request_id`` (our tracking code) comes back at once; a client that
  sends an ``Idempotency-Key`` header may also look the request up at ``tokens/{key}``;
* reads need no key, as the spec says, so they are the public board's view: only areas whose profile turns
  ``appeals.public_board`` on, personal data masked (phones, ID and house numbers; coordinates rounded to ~100 m);
* our states map to ``open``/``closed``: closed = replied, closed, archived, rejected, duplicate; a merged appeal
  takes the status of the appeal it was merged into.

Every answer exists in XML (``.xml``) and JSON (``.json``); errors are ``errors/error`` lists of ``{code,
description}`` with HTTP 400, 403 (api_key) or 404 (unknown resource), as the spec's error section describes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any
from xml.etree import ElementTree as ET

from django.conf import settings
from django.db.models import CharField, F, Q, QuerySet, Value
from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.csrf import csrf_exempt

from yishi.audit.models import AuditEvent
from yishi.core.errors import NotAuthenticated, NotFound, PermissionDenied, YishiError
from yishi.core.permissions import restrict
from yishi.orgs.models import OrgUnit
from yishi.policy.services import policy_value

from .choices import OPEN_STATES, AppealState, Channel, Nature
from .models import Appeal, Category
from .selectors import mask_text
from .services import AppealInput, appeal_submit

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
MAX_RESULTS = 1000  # "first 1000 requests returned" (the spec's default query limit)
TOKEN_PREFIX = "open311:"  # idempotency keys of this channel, kept apart from other clients' keys
PUBLIC_RULE = "appeals.view_public"
CLOSED_STATES = frozenset(
    {AppealState.REPLIED, AppealState.CLOSED, AppealState.ARCHIVED, AppealState.REJECTED, AppealState.DUPLICATE}
)
COORDINATE_DECIMALS = 3  # public coordinates are rounded to about 100 m, like the board masks house numbers
# XML element of each list item (the Spark convention: the JSON of a list is an array of its items).
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
# Our input fields named as the Open311 parameters a client sent.
PARAMETER_OF = {
    "category": "service_code",
    "nature": "attribute[nature]",
    "title": "attribute[title]",
    "text": "description",
    "org_unit": "address_id",
    "address": "address_string",
    "latitude": "lat",
    "longitude": "long",
    "contact_phone": "phone",
    "contact_name": "first_name",
    "media_url": "media_url",
    "idempotency_key": "Idempotency-Key",
}


def _en() -> bool:
    return (get_language() or "").lower().startswith("en")


def _msg(zh: str, en: str) -> str:
    return en if _en() else zh


class Open311Error(Exception):
    """An answer in the spec's error format: HTTP ``status`` and one or more descriptions."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = list(descriptions)


# --- rendering ------------------------------------------------------------------------------------------------

def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    node = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, item in value.items():
            _append(node, key, item)
    elif isinstance(value, list):
        for item in value:
            _append(node, ITEM_TAGS[tag], item)
    else:
        node.text = _text(value)


def render(fmt: str, root: str, payload: dict[str, Any] | list[Any], status: int = 200) -> HttpResponse:
    """``payload`` as XML (root element ``root``) or JSON. Lists become repeated child elements in XML and arrays
    in JSON; None becomes an empty element or null."""
    if fmt == "json":
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    else:
        tree = ET.Element(root)
        if isinstance(payload, list):
            for item in payload:
                _append(tree, ITEM_TAGS[root], item)
        else:
            for key, value in payload.items():
                _append(tree, key, value)
        body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(tree, encoding="utf-8", xml_declaration=False)
    response = HttpResponse(body, status=status, content_type=FORMATS[fmt])
    response["Access-Control-Allow-Origin"] = "*"  # public data; POST still needs its api_key
    return response


def error_response(fmt: str, status: int, descriptions: Iterable[str]) -> HttpResponse:
    return render(fmt, "errors", [{"code": status, "description": d} for d in descriptions], status=status)


def _status_for(exc: YishiError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, PermissionDenied | NotAuthenticated):
        return 403
    return 400  # "basically 400 for any other error where the request can not be fulfilled"


def _describe(exc: YishiError) -> str:
    parameter = PARAMETER_OF.get(exc.field or "", exc.field)
    return f"{parameter}: {exc.message}" if parameter else exc.message


def endpoint(*methods: str) -> Callable[..., Callable[..., HttpResponse]]:
    """An Open311 view: allowed methods, and every error answered in the requested format."""

    def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def inner(request: HttpRequest, *args: Any, fmt: str, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = error_response(fmt, 400, [_msg(f"不支持 {request.method} 方法", f"Method {request.method} is not supported")])
                response["Allow"] = ", ".join(methods)
                return response
            try:
                return view(request, *args, fmt=fmt, **kwargs)
            except Open311Error as exc:
                return error_response(fmt, exc.status, exc.descriptions)
            except YishiError as exc:
                return error_response(fmt, _status_for(exc), [_describe(exc)])

        return inner

    return wrap


def w3c(value: datetime | None) -> str | None:
    """A W3C/ISO 8601 datetime with its UTC offset, in the server's time zone (2026-01-05T09:30:00+08:00)."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value is not None else None


_W3C_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
# "+08:00" arrives as " 08:00" when a client forgets to percent-encode the plus sign of a query string.
_LOST_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def parse_w3c(value: str, name: str) -> datetime:
    """Parse a W3C datetime (YYYY, YYYY-MM, YYYY-MM-DD, or a date and time with Z or ±hh:mm)."""
    raw = _LOST_PLUS.sub(r"\1+\2", value.strip())
    partial = _W3C_PARTIAL.match(raw)
    try:
        if partial:
            parsed = datetime(int(partial.group(1)), int(partial.group(2) or 1), 1)
        else:
            parsed = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
    except ValueError:
        raise Open311Error(
            400, _msg(f"{name}: 日期时间格式无效，请使用 W3C 格式，如 2026-01-01T00:00:00+08:00",
                      f"{name}: invalid datetime, use the W3C format, e.g. 2026-01-01T00:00:00Z")
        ) from None
    # The spec requires an offset; a client that leaves it out means our local time.
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


# --- mapping our appeals to service requests -----------------------------------------------------------------

def status_of(appeal: Appeal) -> str:
    """open | closed. A merged appeal is handled through its parent and shows the parent's status."""
    state = appeal.state
    if state == AppealState.MERGED and appeal.merged_into is not None:
        state = appeal.merged_into.state
    return "closed" if state in CLOSED_STATES else "open"


def _status_q(status: str) -> Q:
    states = [str(s) for s in (OPEN_STATES if status == "open" else CLOSED_STATES)]
    return Q(state__in=states) | Q(state=AppealState.MERGED, merged_into__state__in=states)


def _status_notes(appeal: Appeal) -> str:
    if appeal.state == AppealState.MERGED and appeal.merged_into is not None:
        return _msg(f"已合并至 {appeal.merged_into.tracking_code} 一并办理", f"Merged into {appeal.merged_into.tracking_code}")
    if appeal.state == AppealState.DUPLICATE and appeal.duplicate_of is not None:
        return _msg(f"重复件，与 {appeal.duplicate_of.tracking_code} 一并办理", f"Duplicate of {appeal.duplicate_of.tracking_code}")
    if appeal.state == AppealState.REJECTED and appeal.reject_reason:
        return mask_text(appeal.reject_reason)
    if appeal.state in CLOSED_STATES and appeal.reply_text:
        return mask_text(appeal.reply_text)
    return str(appeal.get_state_display())


def _updated_datetime(appeal: Appeal) -> datetime:
    """Last change; for a closed request the time it was closed (the spec's rule)."""
    subject = appeal.merged_into if (appeal.state == AppealState.MERGED and appeal.merged_into) else appeal
    if status_of(appeal) == "closed":
        return subject.closed_at or subject.replied_at or subject.updated_at
    return max(appeal.updated_at, subject.updated_at)


def _rounded(value: float | None) -> float | None:
    return round(value, COORDINATE_DECIMALS) if value is not None else None


def request_record(appeal: Appeal) -> dict[str, Any]:
    """One service request, field by field as the spec lists them, personal data masked."""
    handler = appeal.merged_into if (appeal.state == AppealState.MERGED and appeal.merged_into) else appeal
    return {
        "service_request_id": appeal.tracking_code,
        "status": status_of(appeal),
        "status_notes": _status_notes(appeal),
        "service_name": appeal.category.name,
        "service_code": appeal.category.code,
        "description": mask_text(appeal.text),
        "agency_responsible": handler.lead_unit.name if handler.lead_unit_id else None,  # type: ignore[union-attr]
        "service_notice": None,
        "requested_datetime": w3c(appeal.received_at),
        "updated_datetime": w3c(_updated_datetime(appeal)),
        "expected_datetime": w3c(handler.due_at),
        "address": mask_text(appeal.address) if appeal.address else appeal.org_unit.name,
        "address_id": appeal.org_unit.code,
        "zipcode": None,
        "lat": _rounded(appeal.latitude),
        "long": _rounded(appeal.longitude),
        "media_url": appeal.media_url or None,
    }


def _public_appeals() -> QuerySet[Appeal]:
    """What the spec lets anyone read: the public board's areas (``appeals.public_board``)."""
    return restrict(Appeal.objects.all(), None, PUBLIC_RULE).select_related(
        "category", "org_unit", "lead_unit", "merged_into__lead_unit", "duplicate_of"
    )


def _service_categories() -> list[tuple[Category, list[Category]]]:
    """Active leaves of the catalogue with their active ancestors (root first). A leaf under an inactive branch
    is not offered. One query: the catalogue is small."""
    active = {c.pk: c for c in Category.objects.filter(is_active=True).order_by("path")}
    with_children = {c.parent_id for c in active.values() if c.parent_id}
    result = []
    for cat in active.values():
        if cat.pk in with_children:
            continue
        ids = [int(part) for part in cat.path.strip("/").split("/") if part] or [cat.pk]
        if all(i in active for i in ids):
            result.append((cat, [active[i] for i in ids]))
    return result


def _keywords(text: str) -> str:
    return ", ".join(w for w in re.split(r"[,，、;；\s]+", text or "") if w)


def _service_category(service_code: str) -> Category:
    for cat, _chain in _service_categories():
        if cat.code == service_code:
            return cat
    raise Open311Error(404, _msg(f"service_code: 服务 {service_code} 不存在", f"service_code: service {service_code} was not found"))


def _attributes(unit: OrgUnit | None = None) -> list[dict[str, Any]]:
    title_max = int(policy_value("appeals.title_max_length", unit))
    return [
        {
            "variable": True, "code": "nature", "datatype": "singlevaluelist", "required": True,
            "datatype_description": None, "order": 1,
            "description": _msg("诉求性质", "Nature of the request"),
            "values": [{"key": value, "name": str(label)} for value, label in Nature.choices],
        },
        {
            "variable": True, "code": "title", "datatype": "string", "required": False,
            "datatype_description": _msg(f"不超过 {title_max} 字", f"At most {title_max} characters"), "order": 2,
            "description": _msg("标题（不填时取描述的开头）", "Title (the start of the description when left out)"),
        },
        {
            "variable": True, "code": "consent_contact", "datatype": "singlevaluelist", "required": False,
            "datatype_description": None, "order": 3,
            "description": _msg("是否同意回访联系（默认同意）", "May we call back about the result? (default: yes)"),
            "values": [{"key": "yes", "name": _msg("同意", "Yes")}, {"key": "no", "name": _msg("不同意", "No")}],
        },
    ]


# --- views ------------------------------------------------------------------------------------------------------

def _root_unit() -> OrgUnit | None:
    roots = list(OrgUnit.objects.filter(parent__isnull=True, is_active=True)[:2])
    return roots[0] if len(roots) == 1 else None


@endpoint("GET", "HEAD")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    """Service discovery (required with GeoReport v2): where the endpoint is, what it speaks, whom to ask."""
    last_change = (
        AuditEvent.objects.filter(code__startswith="appeals.category.").order_by("-seq").values_list("at", flat=True).first()
    )
    changeset = w3c(last_change) or "2026-01-01T00:00:00+08:00"
    base = request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": fmt})).rsplit("/", 1)[0]
    payload = {
        "changeset": changeset,
        "contact": getattr(settings, "YISHI_OPEN311_CONTACT", _msg("请联系本区 12345 热线平台管理员", "Contact the district hotline platform administrators")),
        "key_service": getattr(settings, "YISHI_OPEN311_KEY_SERVICE", _msg(
            "api_key 为具有 write 权限的 API 令牌，由平台管理员为具有代录入权限的账号签发",
            "The api_key is an API token with the write scope, issued by the platform administrators to an intake account",
        )),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base,
                "changeset": changeset,
                "type": "test" if settings.DEBUG else "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", payload)


@endpoint("GET", "HEAD")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    """GET services: every leaf category, grouped by its level-1 category."""
    services = [
        {
            "service_code": cat.code,
            "service_name": cat.name,
            "description": " › ".join(c.name for c in chain),
            "metadata": True,
            "type": "realtime",
            "keywords": _keywords(cat.keywords),
            "group": chain[0].name,
        }
        for cat, chain in _service_categories()
    ]
    return render(fmt, "services", services)


@endpoint("GET", "HEAD")
def service_definition(request: HttpRequest, fmt: str, service_code: str) -> HttpResponse:
    """GET a service definition: the attributes an appeal of this category takes."""
    cat = _service_category(service_code)
    return render(fmt, "service_definition", {"service_code": cat.code, "attributes": _attributes(_root_unit())})


@endpoint("GET", "HEAD", "POST")
def service_requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create_request(request, fmt)
    return _list_requests(request, fmt)


@endpoint("GET", "HEAD")
def service_request(request: HttpRequest, fmt: str, service_request_id: str) -> HttpResponse:
    """GET one service request by its id (our tracking code)."""
    appeal = _public_appeals().filter(tracking_code=service_request_id.strip().upper()).first()
    if appeal is None:
        raise Open311Error(404, _msg(f"service_request_id: {service_request_id} 不存在", f"service_request_id: {service_request_id} was not found"))
    return render(fmt, "service_requests", [request_record(appeal)])


@endpoint("GET", "HEAD")
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    """GET service_request_id from a token. We create requests synchronously and never hand out tokens; a
    client's ``Idempotency-Key`` serves as one, so a client unsure whether its POST arrived can ask here. Keys
    belong to the client that sent them: with its ``api_key`` a client finds only its own requests; without one,
    a token that two clients both used names no request."""
    matches = Appeal.objects.filter(channel=Channel.OPEN311, idempotency_key=TOKEN_PREFIX + token)
    api_key = (request.GET.get("api_key") or "").strip()
    if api_key:
        matches = matches.filter(idempotency_owner_id=_api_user(api_key).pk)
    codes = list(matches.values_list("tracking_code", flat=True)[:2])
    appeal = codes[0] if len(codes) == 1 else None
    if appeal is None:
        raise Open311Error(404, _msg(f"token: {token} 不存在", f"token: {token} was not found"))
    return render(fmt, "service_requests", [{"service_request_id": appeal, "token": token}])


@endpoint("GET", "HEAD", "POST")
def not_found(request: HttpRequest, fmt: str, rest: str = "") -> HttpResponse:
    raise Open311Error(404, _msg("资源不存在", "No such resource"))


def not_found_xml(request: HttpRequest, rest: str = "") -> HttpResponse:
    return not_found(request, fmt="xml", rest=rest)


def root(request: HttpRequest) -> HttpResponse:
    """The bare endpoint URL answers with the discovery document, as the discovery spec suggests."""
    return discovery(request, fmt="xml")


# --- GET requests -------------------------------------------------------------------------------------------------

def _window(params: Any) -> tuple[datetime, datetime]:
    """start_date/end_date, defaulting to the most recent N days and never spanning more (N from the profile)."""
    days = int(policy_value("appeals.open311_window_days", _root_unit()))
    span = timedelta(days=days)
    start = parse_w3c(params["start_date"], "start_date") if params.get("start_date") else None
    end = parse_w3c(params["end_date"], "end_date") if params.get("end_date") else None
    if start and end:
        if end < start:
            raise Open311Error(400, _msg("end_date 早于 start_date", "end_date is before start_date"))
        if end - start > span:
            raise Open311Error(400, _msg(f"start_date 至 end_date 不能超过 {days} 天", f"start_date to end_date may not span more than {days} days"))
        return start, end
    if start:
        return start, start + span
    end = end or timezone.now()
    return end - span, end


def _comma_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _list_requests(request: HttpRequest, fmt: str) -> HttpResponse:
    """GET requests with the spec's filters. ``service_request_id`` overrides every other argument."""
    params = request.GET
    qs = _public_appeals()
    ids = _comma_list(params.get("service_request_id"))
    if ids:
        if len(ids) > MAX_RESULTS:
            raise Open311Error(400, _msg(f"service_request_id 最多 {MAX_RESULTS} 个", f"At most {MAX_RESULTS} service_request_id values"))
        qs = qs.filter(tracking_code__in=[i.upper() for i in ids])
    else:
        start, end = _window(params)
        qs = qs.filter(received_at__gte=start, received_at__lte=end)
        codes = _comma_list(params.get("service_code"))
        if codes:
            qs = qs.filter(category__code__in=codes)
        statuses = set(_comma_list(params.get("status")))
        if statuses - {"open", "closed"}:
            raise Open311Error(400, _msg("status 只能是 open 或 closed", "status must be open or closed"))
        if len(statuses) == 1:
            qs = qs.filter(_status_q(statuses.pop()))
    records = [request_record(a) for a in qs.order_by("-received_at", "-id")[:MAX_RESULTS]]
    return render(fmt, "service_requests", records)


# --- POST requests ------------------------------------------------------------------------------------------------

def _api_user(api_key: str) -> Any:
    """The user of an API token carrying the ``write`` scope (admin implies it)."""
    from yishi.core.api_auth import TokenAuth

    if not api_key:
        raise Open311Error(403, _msg("缺少 api_key", "api_key is required"))
    try:
        user = TokenAuth("write").authenticate(HttpRequest(), api_key)
    except PermissionDenied:
        raise Open311Error(403, _msg("api_key 没有 write 权限", "The api_key lacks the write scope")) from None
    if user is None:
        raise Open311Error(403, _msg("api_key 无效", "Invalid api_key"))
    return user


def _coordinate(raw: str, name: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, _msg(f"{name}: 须为数字", f"{name}: must be a number")) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise Open311Error(400, _msg(f"{name}: 须在 {low} 至 {high} 之间", f"{name}: must be between {low} and {high}"))
    return value


def _locate(params: Any) -> tuple[OrgUnit, float | None, float | None, str]:
    """The org unit, coordinates and address of a request, from address_id (an org unit code), lat/long (the
    deepest unit whose bounding box holds the point) or address_string (the deepest unit named in it, else the
    jurisdiction)."""
    address = (params.get("address_string") or "").strip()
    address_id = (params.get("address_id") or "").strip()
    lat_raw, long_raw = (params.get("lat") or "").strip(), (params.get("long") or "").strip()
    if bool(lat_raw) != bool(long_raw):
        raise Open311Error(400, _msg("lat 与 long 须同时提供", "lat and long must be sent together"))
    lat = _coordinate(lat_raw, "lat", -90, 90) if lat_raw else None
    lng = _coordinate(long_raw, "long", -180, 180) if long_raw else None
    unit: OrgUnit | None = None
    if address_id:
        unit = OrgUnit.objects.filter(code=address_id, is_active=True).first()
        if unit is None:
            raise Open311Error(400, _msg(f"address_id: {address_id} 不存在", f"address_id: {address_id} was not found"))
    elif lat is not None and lng is not None:
        unit = (
            OrgUnit.objects.filter(is_active=True, min_lat__lte=lat, max_lat__gte=lat, min_lng__lte=lng, max_lng__gte=lng)
            .order_by("-depth", "pk").first()
        )
        if unit is None:
            raise Open311Error(400, _msg("lat/long: 坐标不在本辖区范围内", "lat/long: the point is outside the jurisdiction"))
    elif address:
        unit = (
            OrgUnit.objects.filter(is_active=True)
            .annotate(given=Value(address, output_field=CharField()))
            .filter(given__contains=F("name"))
            .order_by("-depth", "pk").first()
        ) or _root_unit()
        if unit is None:
            raise Open311Error(400, _msg("address_string: 无法定位，请提供 lat/long 或 address_id", "address_string: cannot be located, send lat/long or address_id"))
    else:
        raise Open311Error(400, _msg("须提供 lat 和 long、address_string 或 address_id 之一", "One of lat & long, address_string or address_id is required"))
    return unit, lat, lng, address


def _attribute(params: Any, code: str) -> str:
    values = params.getlist(f"attribute[{code}]") or params.getlist(f"attribute[{code}][]")
    return (values[0] if values else "").strip()


def _person(first: str, last: str) -> str:
    """Chinese names are written family name first, without a space."""
    if re.search(r"[\u3400-\u9fff]", first + last):
        return f"{last}{first}"
    return " ".join(p for p in (first, last) if p)


def _create_request(request: HttpRequest, fmt: str) -> HttpResponse:
    """POST a service request: one appeal, filed through ``appeal_submit`` on the resident's behalf."""
    params = request.POST
    user = _api_user((params.get("api_key") or "").strip())
    service_code = (params.get("service_code") or "").strip()
    if not service_code:
        raise Open311Error(400, _msg("缺少 service_code", "service_code is required"))
    category = _service_category(service_code)
    problems = []
    nature = _attribute(params, "nature")
    if not nature:
        problems.append(_msg("attribute[nature]: 必填", "attribute[nature]: required"))
    elif nature not in Nature.values:
        problems.append(_msg(f"attribute[nature]: 须为 {', '.join(Nature.values)} 之一", f"attribute[nature]: must be one of {', '.join(Nature.values)}"))
    consent = _attribute(params, "consent_contact") or "yes"
    if consent not in ("yes", "no"):
        problems.append(_msg("attribute[consent_contact]: 须为 yes 或 no", "attribute[consent_contact]: must be yes or no"))
    description = (params.get("description") or "").strip()
    if not description:
        problems.append(_msg("description: 必填", "description: required"))
    try:
        unit, lat, lng, address = _locate(params)
    except Open311Error as exc:
        raise Open311Error(400, *problems, *exc.descriptions) from None
    if problems:
        raise Open311Error(400, *problems)
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if key and not re.fullmatch(r"[\x21-\x7e]{1,72}", key):
        raise Open311Error(400, _msg("Idempotency-Key: 须为 1 至 72 个可见 ASCII 字符", "Idempotency-Key: 1 to 72 visible ASCII characters"))
    name = _person((params.get("first_name") or "").strip(), (params.get("last_name") or "").strip())
    phone = (params.get("phone") or "").strip()
    title = _attribute(params, "title") or description.splitlines()[0][:30]
    data = AppealInput(
        nature=nature,
        category_id=category.pk,
        title=title,
        text=description,
        org_unit_id=unit.pk,
        address=address,
        latitude=lat,
        longitude=lng,
        anonymous=not (name or phone),
        consent_contact=consent == "yes",
        contact_name=name,
        contact_phone=phone,
        media_url=(params.get("media_url") or "").strip(),
    )
    appeal = appeal_submit(
        actor=user, data=data, channel=Channel.OPEN311, idempotency_key=(TOKEN_PREFIX + key) if key else None,
        on_behalf=True,
    )
    notice = _msg(f"已受理，可凭查询码 {appeal.tracking_code} 查询办理进度。", f"Received; follow it with the code {appeal.tracking_code}.")
    return render(fmt, "service_requests", [{"service_request_id": appeal.tracking_code, "service_notice": notice, "account_id": None}])


_FMT = r"\.(?P<fmt>xml|json)$"
app_name = "open311"
urlpatterns = [
    path("", root, name="root"),
    re_path(r"^discovery" + _FMT, discovery, name="discovery"),
    re_path(r"^services" + _FMT, service_list, name="services"),
    re_path(r"^services/(?P<service_code>[^/]+)" + _FMT, service_definition, name="service_definition"),
    re_path(r"^requests" + _FMT, service_requests, name="requests"),
    re_path(r"^requests/(?P<service_request_id>[^/]+)" + _FMT, service_request, name="request"),
    re_path(r"^tokens/(?P<token>[^/]+)" + _FMT, token, name="token"),
    re_path(r"^(?P<rest>.*)" + _FMT, not_found),
    path("<path:rest>", not_found_xml),
]
