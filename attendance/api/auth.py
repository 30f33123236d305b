"""Login and token refresh (simplejwt), with login throttled against password guessing."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from attendance.api.schema import ApiDefaults


@extend_schema(tags=["auth"])
class LoginView(ApiDefaults, TokenObtainPairView):
    """`{"username", "password"}` to `{"access", "refresh"}`; 401 on wrong credentials."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


@extend_schema(tags=["auth"])
class RefreshView(ApiDefaults, TokenRefreshView):
    """`{"refresh"}` to a new `{"access"}`; 401 when the refresh token is invalid or expired."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
