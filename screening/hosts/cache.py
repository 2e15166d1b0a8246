"""Where built hosts are kept, and how much a host build may cost.

A relaxed host is looked up first in the user cache (``Settings.cache_dir``/hosts, written),
then among the hosts shipped with the package (``screening/data/hosts``, read-only); a host
found in neither is built from code and written to the user cache, never into the package or
the checkout. Each file records the hash of its recipe, so a changed recipe is rebuilt.

Validation builds hosts under :func:`cache_policy` with ``check_only=True``: a host missing
from both caches is then built without its GFN2-xTB relaxation and not written, so that a check
costs seconds and leaves no file behind (its sites are good enough to check names and fits).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..data import shipped_hosts_dir
from ..errors import InputError
from ..geometry import Molecule, parse_xyz_header, read_xyz, write_xyz
from ..hashing import content_hash


@dataclass(frozen=True)
class CachePolicy:
    """``folder``: the user cache (written); ``check_only``: build nothing expensive, write
    nothing."""

    folder: Path
    check_only: bool = False


_POLICY: ContextVar[CachePolicy | None] = ContextVar("host_cache_policy", default=None)


def current_policy() -> CachePolicy:
    """The policy in force: the innermost :func:`cache_policy`, else the environment's."""
    policy = _POLICY.get()
    if policy is None:
        from ..settings import current_settings

        policy = CachePolicy(current_settings().hosts_cache)
    return policy


@contextmanager
def cache_policy(folder: Path | str | None = None, check_only: bool = False
                 ) -> Iterator[CachePolicy]:
    """Host builds inside this block use ``folder`` (default: the environment's cache) and, with
    ``check_only``, neither relax nor write."""
    policy = CachePolicy(Path(folder) if folder else current_policy().folder, check_only)
    token = _POLICY.set(policy)
    try:
        yield policy
    finally:
        _POLICY.reset(token)


def recipe_hash(recipe: dict) -> str:
    """Short content hash of a build recipe (what a cached geometry was made from)."""
    return content_hash(recipe, length=12, sort_keys=True)


def _file_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) + ".xyz"


def cache_path(name: str) -> Path:
    """Where ``name`` is written: ``<user cache>/<name>.xyz``."""
    return current_policy().folder / _file_name(name)


def read_cached(name: str, recipe: dict) -> tuple[Molecule, dict] | None:
    """The cached geometry of ``name`` if it was made by ``recipe`` (user cache first, then the
    shipped hosts), else None."""
    for folder in (current_policy().folder, shipped_hosts_dir()):
        path = folder / _file_name(name)
        if not path.is_file():
            continue
        try:
            header = parse_xyz_header(path.read_text(encoding="utf-8").splitlines()[1])
            if header.get("recipe") == recipe_hash(recipe):
                return read_xyz(path, name=name), header
        except (UnicodeDecodeError, IndexError, InputError):  # a damaged file: build anew
            continue
    return None


def write_cached(name: str, recipe: dict, mol: Molecule, provenance: str) -> Path | None:
    """Write ``mol`` to the user cache with its recipe hash and provenance in the comment line
    (nothing under a ``check_only`` policy)."""
    if current_policy().check_only:
        return None
    path = cache_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".xyz.tmp")
    write_xyz(mol, tmp, f"recipe={recipe_hash(recipe)} source=\"{provenance}\"")
    tmp.replace(path)
    return path


def checking() -> bool:
    """Whether host builds are for a check only (no relaxation, nothing written)."""
    return current_policy().check_only


def xtb_relaxed_host(mol: Molecule) -> Molecule:
    """``mol`` relaxed with GFN2-xTB, or as it is under a ``check_only`` policy."""
    if checking():
        return mol
    from ..engines.xtb import xtb_relaxed

    return xtb_relaxed(mol)[0]
