"""The published layouts by name: the registry `ilid import` and `ilid mvtec-layout` choose from."""

from __future__ import annotations

from pipeline.anomaly.base import Layout
from pipeline.anomaly.kolektor import KolektorSDD, KolektorSDD2
from pipeline.anomaly.mvtec import MVTec
from pipeline.anomaly.visa import VisA
from pipeline.errors import IlidError

LAYOUTS: dict[str, type[Layout]] = {
    layout.name: layout for layout in (MVTec, VisA, KolektorSDD, KolektorSDD2)
}


def layout_for(name: str) -> Layout:
    try:
        return LAYOUTS[name]()
    except KeyError:
        raise IlidError(f"unknown dataset format {name!r}: one of {', '.join(LAYOUTS)}") from None
