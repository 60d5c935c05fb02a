"""The sync engine every push to Voyado goes through: ledger, dead letters, replay, dry run and one shared
rate budget per API key (see README.md in this folder)."""

from voyado_sync.sync.engine import Delivery, Endpoint, SyncAborted, SyncEngine
from voyado_sync.sync.models import Outcome, SyncItem, SyncReport
from voyado_sync.sync.rate_budget import RateBudget

__all__ = ["Delivery", "Endpoint", "Outcome", "RateBudget", "SyncAborted", "SyncEngine", "SyncItem", "SyncReport"]
