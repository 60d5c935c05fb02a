"""Commercetools sandbox: ``CommercetoolsSandbox`` (see `app` for the supported surface)."""

from voyado_sync.sandbox.commercetools.app import CommercetoolsSandbox

__all__ = ["CommercetoolsSandbox"]
