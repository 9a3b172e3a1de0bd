"""Image paths a dataset names, kept inside the folder they are meant for.

A dataset's `image` is a relative path that every stage joins to an images folder: download writes
there, curate and the report read there, an importer checks what it is given. None of them may reach
outside that folder, whatever the dataset says.
"""

from __future__ import annotations

from pathlib import Path

MAX_NAME_BYTES = 255  # the longest file or folder name common file systems take


def image_path_problem(folder: Path, image: str) -> str | None:
    """Why `image` may not be written under `folder`, or None when it names a file strictly inside."""
    relative = Path(image)
    if not image or "\x00" in image:
        return "empty or holds a NUL byte"
    if relative.is_absolute() or ".." in relative.parts:
        return "absolute or climbs out of the folder"
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for part in relative.parts):
        return f"a path part is over {MAX_NAME_BYTES} bytes"
    root = folder.resolve()
    target = (folder / relative).resolve()
    if target == root or not target.is_relative_to(root):
        return "not a file inside the folder"
    return None


def safe_image_path(folder: Path, image: str) -> Path | None:
    """`folder/image`, or None unless `image` names a file strictly inside `folder`."""
    return None if image_path_problem(folder, image) else (folder / image).resolve()
