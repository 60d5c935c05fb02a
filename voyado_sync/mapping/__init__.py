"""Pure mapping core: Commercetools orders/returns, POS receipts and identity profiles -> Voyado
receipts and contacts. No Dagster, no HTTP: the assets in ``voyado_sync/defs`` call these functions."""

from voyado_sync.mapping.config import MappingConfig, load_config
from voyado_sync.mapping.context import MappingContext, MappingResult
from voyado_sync.mapping.contacts import ContactRequest, contact_attributes, contact_request, patch_diff
from voyado_sync.mapping.models import Receipt, dumps, loads
from voyado_sync.mapping.pos import map_pos_csv_rows, map_pos_receipt, receipts_from_csv_rows
from voyado_sync.mapping.receipts import map_order, map_orders
from voyado_sync.mapping.returns import map_returns
from voyado_sync.mapping.validate import batch_problems, receipt_problems

__all__ = [
    "ContactRequest", "MappingConfig", "MappingContext", "MappingResult", "Receipt", "batch_problems",
    "contact_attributes", "contact_request", "dumps", "load_config", "loads", "map_order", "map_orders",
    "map_pos_csv_rows", "map_pos_receipt", "map_returns", "patch_diff", "receipt_problems",
    "receipts_from_csv_rows",
]
