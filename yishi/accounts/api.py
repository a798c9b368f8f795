from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.throttling import AnonRateThrottle

from yishi.core.api_auth import PUBLIC, auth
from yishi.core.errors import InvalidInput, NotFound
from yishi.core.permissions import grants, signed_in_user
from yishi.core.schemas import ERRORS

from . import services
from .models import ApiToken

router = Router(tags=["accounts 账户"])


class RoleOut(Schema):
    role: str
    org_unit_id: int
    handling_unit_id: int | None
    station_id: int | None


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    phone: str | None
    is_staff: bool
    roles: list[RoleOut]


class SmsCodeIn(Schema):
    phone: str = Field(..., max_length=20)


class SmsCodeOut(Schema):
    sent: bool
    expires_at: datetime
    demo_code: str | None = None


class PhoneLoginIn(Schema):
    phone: str = Field(..., max_length=20)
    code: str = Field(..., min_length=4, max_length=8)


class TokenIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    scopes: list[str] = Field(..., min_length=1)
    expires_at: datetime | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    secret: str


def _me(user) -> dict:
    roles = [
        {"role": g.role, "org_unit_id": g.org_unit_id, "handling_unit_id": g.handling_unit_id, "station_id": g.station_id}
        for g in grants(user)
    ]
    return {
        "id": user.pk, "username": user.username, "display_name": str(user), "phone": user.phone,
        "is_staff": user.is_staff, "roles": roles,
    }


@router.get("/me", response={200: MeOut, **ERRORS}, auth=auth("read"))
def me(request: HttpRequest):
    return _me(request.user)


@router.post(
    "/auth/sms-code", response={200: SmsCodeOut, **ERRORS}, auth=PUBLIC,
    throttle=[AnonRateThrottle("30/h")],
)
def send_sms_code(request: HttpRequest, payload: SmsCodeIn):
    row = services.phone_code_send(phone=payload.phone)
    demo = getattr(row, "plain_code", None) if settings.YISHI_DEMO else None
    return {"sent": True, "expires_at": row.expires_at, "demo_code": demo}


@router.post("/auth/phone-login", response={200: MeOut, **ERRORS}, auth=PUBLIC)
def phone_login(request: HttpRequest, payload: PhoneLoginIn):
    from django.contrib.auth import authenticate

    user = authenticate(request, phone=payload.phone, code=payload.code)
    if user is None:
        raise InvalidInput("验证码错误或已过期", "Wrong or expired code", field="code", code="invalid_code")
    login(request, user, backend="yishi.accounts.backends.PhoneCodeBackend")
    return _me(user)


@router.get("/tokens", response={200: list[TokenOut], **ERRORS}, auth=auth("admin"))
def list_tokens(request: HttpRequest):
    return ApiToken.objects.filter(user=signed_in_user(request)).order_by("-created_at")


@router.post("/tokens", response={201: TokenCreatedOut, **ERRORS}, auth=auth("admin"))
def create_token(request: HttpRequest, payload: TokenIn):
    user = signed_in_user(request)
    token, secret = services.token_create(
        actor=user, user=user, name=payload.name, scopes=payload.scopes, expires_at=payload.expires_at
    )
    data = TokenOut.from_orm(token).dict()
    return 201, {**data, "secret": secret}


@router.delete("/tokens/{token_id}", response={200: TokenOut, **ERRORS}, auth=auth("admin"))
def revoke_token(request: HttpRequest, token_id: int):
    token = ApiToken.objects.filter(user=signed_in_user(request), pk=token_id).first()
    if token is None:
        raise NotFound()
    return services.token_revoke(actor=request.user, token=token)
