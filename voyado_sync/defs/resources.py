"""Resources for the whole code location. Secrets come only from the environment (`dg.EnvVar`);
URLs default to nothing so a missing setting fails at launch with the variable's name."""

from __future__ import annotations

import dagster as dg

from voyado_sync.resources.commercetools import CommercetoolsResource
from voyado_sync.resources.state import PartitionStoreResource, StateDatabase
from voyado_sync.resources.voyado import ElevateResource, EngageResource
from voyado_sync.settings import get_settings


@dg.definitions
def resources() -> dg.Definitions:
    settings = get_settings()
    return dg.Definitions(
        resources={
            "commercetools": CommercetoolsResource(
                api_url=dg.EnvVar("CTP_API_URL"),
                auth_url=dg.EnvVar("CTP_AUTH_URL"),
                project_key=dg.EnvVar("CTP_PROJECT_KEY"),
                client_id=dg.EnvVar("CTP_CLIENT_ID"),
                client_secret=dg.EnvVar("CTP_CLIENT_SECRET"),
                scopes=settings.ct_scopes,
            ),
            "engage": EngageResource(
                base_url=dg.EnvVar("VOYADO_ENGAGE_URL"),
                api_key=dg.EnvVar("VOYADO_API_KEY"),
                rate_limit_per_second=settings.rate_limit_per_second,
                max_concurrency=settings.max_concurrency,
            ),
            # Elevate is optional: without its URL the catalog is still built but not pushed.
            "elevate": ElevateResource(
                base_url=dg.EnvVar("VOYADO_ELEVATE_URL"),
                api_key=dg.EnvVar("VOYADO_ELEVATE_API_KEY"),
            ) if settings.elevate_url else ElevateResource(enabled=False),
            "state_db": StateDatabase(url=settings.state_db_url),
            "partition_store": PartitionStoreResource(base_dir=str(settings.data_dir)),
        }
    )
