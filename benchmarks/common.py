"""Helpers for the side-by-side benchmarks: timing and synthetic records."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

PARTS = ["hinge", "ball bearing", "clamp", "spur gear", "scissor lift", "hex nut", "knob", "castor", "spring"]
MATERIALS = ["stainless steel", "brass", "aluminium", "polyamide", "zinc die-cast", "grey cast iron"]


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def raw_record(index: int, rng: random.Random) -> dict[str, Any]:
    part = rng.choice(PARTS)
    return {
        "url": f"https://shop.example/img/{index}.jpg",
        "web": {
            "label": f"  {part.title()} {rng.randint(10, 99)} mm\tProline ",
            "data": [f"{rng.choice(MATERIALS)}, {part} for industrial use\n", "\r\n", f"Art.-Nr. {index}"],
        },
    }


def postfiltered_record(index: int, rng: random.Random, prefix: str = "new") -> dict[str, Any]:
    part = rng.choice(PARTS)
    return {
        "url": f"https://shop.example/{prefix}/{index}.jpg",
        "web": {"label": part, "data": ["x"]},
        "response": [],
        "label_short": part,
        "label_long": f"{part} for machines",
        "description": "A part.",
        "material": rng.choice(MATERIALS),
        "material_finish": None,
        "folder_name": part.replace(" ", "_"),
    }


def ratio_line(name: str, baseline_s: float, ours_s: float, target: float | None = None) -> str:
    ratio = baseline_s / ours_s if ours_s else float("inf")
    verdict = ""
    if target is not None:
        verdict = f" (target >= {target:g}x: {'met' if ratio >= target else 'MISSED'})"
    return f"{name}: baseline {baseline_s:.2f}s, ilid {ours_s:.3f}s -> {ratio:.1f}x faster{verdict}"
