"""Authentication backend for residents: phone number + one-time SMS code."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from .models import User


class PhoneCodeBackend(BaseBackend):
    def authenticate(self, request: HttpRequest | None, phone: str | None = None, code: str | None = None, **kwargs: Any) -> User | None:  # type: ignore[override]
        if not phone or not code:
            return None
        from .services import phone_code_verify

        user = phone_code_verify(phone=phone, code=code)
        return user if user is not None and user.is_active else None

    def get_user(self, user_id: int) -> User | None:
        return User.objects.filter(pk=user_id, is_active=True).first()
