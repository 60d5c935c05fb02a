"""voyado_sync: Commercetools -> Voyado Engage/Elevate as a Dagster asset graph."""

__version__ = "0.1.0"
