from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from yishi.core.errors import YishiError

from . import services
from .forms import PhoneCodeForm, PhoneForm, StaffLoginForm


class StaffLoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = True


def lockout(request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any) -> HttpResponse:
    """Answer of django-axes once a username+IP pair has failed too often."""
    return render(request, "accounts/lockout.html", status=429)


def phone_login(request: HttpRequest) -> HttpResponse:
    """Residents: step 1 asks for the phone and sends a code; step 2 checks it and signs in."""
    demo_code = None
    if request.method == "POST" and "code" not in request.POST:
        form = PhoneForm(request.POST)
        code_form = None
        if form.is_valid():
            try:
                row = services.phone_code_send(phone=form.cleaned_data["phone"])
            except YishiError as exc:
                form.add_error("phone", exc.message)
            else:
                code_form = PhoneCodeForm(initial={"phone": row.phone})
                demo_code = getattr(row, "plain_code", None) if settings.YISHI_DEMO else None
                messages.info(request, _("验证码已发送"))
        return render(request, "accounts/phone_login.html", {"form": form, "code_form": code_form, "demo_code": demo_code})
    if request.method == "POST":
        code_form = PhoneCodeForm(request.POST)
        if code_form.is_valid():
            user = authenticate(request, phone=code_form.cleaned_data["phone"], code=code_form.cleaned_data["code"])
            if user is not None:
                login(request, user, backend="yishi.accounts.backends.PhoneCodeBackend")
                return redirect(request.GET.get("next") or settings.LOGIN_REDIRECT_URL)
            code_form.add_error("code", _("验证码错误或已过期"))
        return render(request, "accounts/phone_login.html", {"form": PhoneForm(initial=request.POST), "code_form": code_form})
    return render(request, "accounts/phone_login.html", {"form": PhoneForm(), "code_form": None})
