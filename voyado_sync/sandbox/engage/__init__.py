"""Voyado Engage sandbox: ``EngageSandbox`` (see `app` for the supported surface)."""

from voyado_sync.sandbox.engage.app import EngageSandbox

__all__ = ["EngageSandbox"]
