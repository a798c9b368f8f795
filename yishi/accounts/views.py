from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from yishi.core.errors import YishiError

from . import services
from .forms import PhoneCodeForm, PhoneForm, StaffLoginForm


class StaffLoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        url = reverse("accounts:phone_login")
        next_url = context.get("next")
        context["phone_login_url"] = f"{url}?{urlencode({'next': next_url})}" if next_url else url
        return context


def lockout(request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any) -> HttpResponse:
    """Answer of django-axes once a username+IP pair has failed too often."""
    minutes = max(1, math.ceil(float(settings.AXES_COOLOFF_TIME) * 60))
    return render(request, "accounts/lockout.html", {"cooloff_minutes": minutes}, status=429)


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """Whom a failed sign-in counts against (``AXES_USERNAME_CALLABLE``): the username, or for residents the phone
    number, so that wrong codes typed for one phone never lock out the other residents behind the same IP address
    (carrier NAT puts many phones behind one)."""
    data: Any = credentials or getattr(request, "POST", None) or {}
    if data.get("username"):
        return str(data["username"])
    if data.get("phone"):
        try:
            return "phone:" + services.normalize_phone(str(data["phone"]))
        except YishiError:
            return "phone:" + str(data["phone"])[:20]
    return None


def _next_url(request: HttpRequest) -> str:
    """Where to go after signing in: ``?next=`` when it points at this site, else the home page."""
    target = request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


def phone_login(request: HttpRequest) -> HttpResponse:
    """Residents: step 1 asks for the phone and sends a code; step 2 checks it and signs in."""
    if request.method == "POST" and "code" not in request.POST:
        form = PhoneForm(request.POST)
        code_form = None
        demo_code = None
        if form.is_valid():
            try:
                row = services.phone_code_send(phone=form.cleaned_data["phone"])
            except YishiError as exc:
                form.add_error("phone", exc.message)
            else:
                code_form = PhoneCodeForm(initial={"phone": row.phone})
                demo_code = getattr(row, "plain_code", None) if settings.YISHI_DEMO else None
                messages.info(request, _("验证码已发送"))
        context = {"form": form, "code_form": code_form, "demo_code": demo_code}
        return render(request, "accounts/phone_login.html", context)
    if request.method == "POST":
        code_form = PhoneCodeForm(request.POST)
        if code_form.is_valid():
            user = authenticate(request, phone=code_form.cleaned_data["phone"], code=code_form.cleaned_data["code"])
            if user is not None:
                login(request, user, backend="yishi.accounts.backends.PhoneCodeBackend")
                return redirect(_next_url(request))
            code_form.add_error("code", _("验证码错误或已过期"))
        return render(request, "accounts/phone_login.html", {"form": PhoneForm(initial=request.POST), "code_form": code_form})
    return render(request, "accounts/phone_login.html", {"form": PhoneForm(), "code_form": None})
