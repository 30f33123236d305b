"""Login and token refresh (simplejwt), with login throttled against password guessing.

simplejwt's views are already open to all and take no authentication (no CSRF either).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from attendance.api.schema import ApiDefaults


@extend_schema(tags=["auth"])
class LoginView(ApiDefaults, TokenObtainPairView):
    """`{"username", "password"}` to `{"access", "refresh"}`; 401 on wrong credentials."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


@extend_schema(tags=["auth"])
class RefreshView(ApiDefaults, TokenRefreshView):
    """`{"refresh"}` to a new `{"access"}`; 401 when the refresh token is invalid or expired."""
