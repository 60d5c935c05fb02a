"""Placeholder: the Voyado Engage / Elevate resources (replaced by the Voyado client work)."""

import dagster as dg


class EngageResource(dg.ConfigurableResource):
    base_url: str
    api_key: str
    rate_limit_per_second: float = 40.0
    max_concurrency: int = 8


class ElevateResource(dg.ConfigurableResource):
    base_url: str
    api_key: str
