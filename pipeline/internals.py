"""Where ilid leans on a framework's internals: the versions it is tested with (pyproject.toml pins the
same ranges; `make test-latest` runs the tests against the newest), and a check at construction that
names them when an internal has gone, instead of a traceback deep inside a crawl or a generation."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version

from pipeline.errors import IlidError

TESTED = {"scrapy": ">=2.13,<2.20", "transformers": ">=5.0,<5.24"}


def require_internals(owner: object, names: Iterable[str], package: str, user: str) -> None:
    """Raises one line naming the installed and the tested versions when `owner` (a class, or an
    instance for attributes set in `__init__`) lacks any of `names`, which `user` relies on."""
    missing = [name for name in names if not hasattr(owner, name)]
    if not missing:
        return
    kind = (owner if isinstance(owner, type) else type(owner)).__name__
    try:
        installed = version(package)
    except PackageNotFoundError:
        installed = "(unknown version)"
    raise IlidError(
        f"{package} {installed} has no {', '.join(f'{kind}.{name}' for name in missing)}, which {user} "
        f"relies on: install {package}{TESTED[package]} (the versions ilid is tested with)"
    )
