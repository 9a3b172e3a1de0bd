"""The spiders: one module per shop, plus the structured-data spider for any shop.

`SPIDERS` maps each spider's name to its class; it is built by importing every module of this package,
so a spider written by `ilid new-spider` is found without registering it anywhere.
"""

from __future__ import annotations

import importlib
import pkgutil

from spiders.base import CatalogSpider

# the package's modules that hold no spider (so no spider may take their name)
NOT_SPIDERS = ("base", "extract", "pipelines", "recrawl", "settings")


def discover() -> dict[str, type[CatalogSpider]]:
    found: dict[str, type[CatalogSpider]] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name in NOT_SPIDERS:
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and issubclass(value, CatalogSpider)
                and value.name
                and value.__module__ == loaded.__name__
            ):
                found[value.name] = value
    return dict(sorted(found.items()))
