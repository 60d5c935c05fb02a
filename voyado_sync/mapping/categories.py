"""Article groups for receipt items: the primary category path of a product ("Women > Tops > Shirts").

Pure helpers the Dagster shell uses to build `MappingContext.product_categories` from the
categories and products datasets. The *primary* category of a product is the first one in its
``categories`` list (Commercetools keeps the merchant's order); its path is the localized names of
its ``ancestors`` (root first) and itself, joined by " > ". A category whose ancestor is unknown keeps
the part of the path that is known rather than failing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from voyado_sync.mapping.lines import localized

SEPARATOR = " > "


def category_paths(categories: Iterable[Mapping[str, Any]], locales: tuple[str, ...] = ("en",)) -> dict[str, str]:
    """Category id -> path of localized names from the root."""
    cats = {c["id"]: c for c in categories if c.get("id")}
    names = {cid: localized(c.get("name"), locales) or c.get("key") or cid for cid, c in cats.items()}
    paths = {}
    for cid, c in cats.items():
        chain = [names[a["id"]] for a in c.get("ancestors") or () if a.get("id") in names]
        paths[cid] = SEPARATOR.join([*chain, names[cid]])
    return paths


def product_category_paths(products: Iterable[Mapping[str, Any]], paths: Mapping[str, str]) -> dict[str, str]:
    """Product id -> path of its primary (first known) category."""
    out = {}
    for p in products:
        for ref in p.get("categories") or ():
            path = paths.get(ref.get("id"))
            if path:
                out[p["id"]] = path
                break
    return out
