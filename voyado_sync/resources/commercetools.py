"""Placeholder: the Commercetools resource (replaced by the client work)."""

import dagster as dg


class CommercetoolsResource(dg.ConfigurableResource):
    api_url: str
    auth_url: str
    project_key: str
    client_id: str
    client_secret: str
    scopes: str = ""
