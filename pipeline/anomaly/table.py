"""What the anomaly-detection datasets' categories are: the object's name, its material and finish.

Each entry says where it comes from. A material is given only where a source states it or the object's
name makes it certain; everything else is null, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    object: str
    material: str | None
    finish: str | None
    source: str


ISSUE = "ilid issue 14 (the request for this importer)"
NAME = "the category's name: the object is made of what it is called"
UNSTATED = "the dataset names the object only; material and finish not stated"
MPDD = "MPDD (Metal Parts Defect Detection, Jezek et al. 2021): metal parts; colour from the name"

MVTEC: dict[str, Category] = {
    "bottle": Category("bottle", "glass", None, ISSUE),
    "cable": Category("cable", "copper and plastic", None, ISSUE),
    "capsule": Category("capsule", None, None, UNSTATED),
    "carpet": Category("carpet", None, None, UNSTATED),
    "grid": Category("grid", None, None, UNSTATED),
    "hazelnut": Category("hazelnut", None, None, UNSTATED),
    "leather": Category("leather", "leather", None, NAME),
    "metal_nut": Category("metal nut", "steel", None, ISSUE),
    "pill": Category("pill", None, None, UNSTATED),
    "screw": Category("screw", None, None, UNSTATED),
    "tile": Category("tile", None, None, UNSTATED),
    "toothbrush": Category("toothbrush", None, None, UNSTATED),
    "transistor": Category("transistor", None, None, UNSTATED),
    "wood": Category("wood", "wood", None, NAME),
    "zipper": Category("zipper", None, None, UNSTATED),
    # MPDD, read with the same `mvtec` layout: its name says every part is metal (Metal Parts Defect
    # Detection); a bracket's colour is in its category's name.
    "bracket_black": Category("bracket", "metal", "black", MPDD),
    "bracket_brown": Category("bracket", "metal", "brown", MPDD),
    "bracket_white": Category("bracket", "metal", "white", MPDD),
    "connector": Category("connector", "metal", None, MPDD),
    "metal_plate": Category("metal plate", "metal", None, MPDD),
    "tubes": Category("tubes", "metal", None, MPDD),
}

VISA_README = "VisA's README (amazon-science/spot-diff): the object list"
VISA: dict[str, Category] = {
    "candle": Category("candle", "wax", None, f"{VISA_README}; id2class.py names its defects in wax"),
    "capsules": Category("capsules", None, None, VISA_README),
    "cashew": Category("cashew", None, None, VISA_README),
    "chewinggum": Category("chewing gum", None, None, VISA_README),
    "fryum": Category("fryum", None, None, VISA_README),
    "macaroni1": Category("macaroni", None, None, VISA_README),
    "macaroni2": Category("macaroni", None, None, VISA_README),
    "pcb1": Category("printed circuit board", None, None, VISA_README),
    "pcb2": Category("printed circuit board", None, None, VISA_README),
    "pcb3": Category("printed circuit board", None, None, VISA_README),
    "pcb4": Category("printed circuit board", None, None, VISA_README),
    "pipe_fryum": Category("pipe fryum", None, None, VISA_README),
}

KOLEKTORSDD = Category(
    "electrical commutator", None, None, "KolektorSDD's page (vicos.si): images of electrical commutators"
)
KOLEKTORSDD2 = Category(
    "production part", None, None, "KolektorSDD2's page (vicos.si): images of defective production items"
)

# VisA's published id-to-class table for its multi-class masks (utils/id2class.py in
# amazon-science/spot-diff), lower-cased; 0 is the background.
VISA_DEFECT_CLASSES: dict[str, dict[int, str]] = {
    "candle": {
        1: "chunk of wax missing",
        2: "damaged corner of packaging",
        3: "weird candle wick",
        4: "different colour spot",
        5: "extra wax in candle",
        6: "foreign particals on candle",
        7: "wax melded out of the candle",
        8: "other",
    },
    "capsules": {1: "bubble", 2: "discolor", 3: "scratch", 4: "leak", 5: "misshape"},
    "fryum": {
        1: "burnt",
        2: "corner or edge breakage",
        3: "different colour spot",
        4: "fryum stuck together",
        5: "middle breakage",
        6: "similar colour spot",
        7: "small scratches",
        8: "other",
    },
    "cashew": {
        1: "burnt",
        2: "corner or edge breakage",
        3: "different colour spot",
        4: "middle breakage",
        5: "small holes",
        6: "small scratches",
        7: "stuck together",
        8: "same colour spot",
        9: "other",
    },
    "chewinggum": {
        1: "chunk of gum missing",
        2: "corner missing",
        3: "scratches",
        4: "similar colour spot",
        5: "small cracks",
        6: "other",
    },
    "macaroni1": {
        1: "chip around edge and corner",
        2: "different colour spot",
        3: "middle breakage",
        4: "similar colour spot",
        5: "small cracks",
        6: "small scratches",
        7: "other",
    },
    "macaroni2": {
        1: "breakage down the middle",
        2: "color spot similar to the object",
        3: "different color spot",
        4: "small chip around edge",
        5: "small cracks",
        6: "small scratches",
        7: "other",
    },
    "pcb1": {1: "bent", 2: "melt", 3: "scratch", 4: "missing"},
    "pcb2": {1: "bent", 2: "melt", 3: "scratch", 4: "missing"},
    "pcb3": {1: "bent", 2: "melt", 3: "scratch", 4: "missing"},
    "pcb4": {
        1: "burnt",
        2: "scratch",
        3: "missing",
        4: "damage",
        5: "extra",
        6: "wrong place",
        7: "dirt",
    },
    "pipe_fryum": {
        1: "burnt",
        2: "corner and edge breakage",
        3: "different colour spot",
        4: "middle breakage",
        5: "similar colour spot",
        6: "small scratches",
        7: "stuck together",
        8: "small cracks",
        9: "other",
    },
}


def category_for(table: dict[str, Category], name: str) -> Category:
    """The table's entry, or the folder's name as the object with nothing else known (WFDD, MAD...)."""
    return table.get(name) or Category(name.replace("_", " "), None, None, "the category folder's name")
