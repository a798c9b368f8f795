from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class StaffLoginForm(AuthenticationForm):
    username = forms.CharField(label=_("用户名"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(label=_("密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("手机号码"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))


class PhoneCodeForm(PhoneForm):
    code = forms.CharField(label=_("验证码"), max_length=8, widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))
