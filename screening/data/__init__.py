"""Data shipped inside the package: the species library's geometries (``species/``) and the
relaxed geometries of the library hosts (``hosts/``, a read-only cache the host builders look in
after the user cache). Made by ``structures/generate.py``; provenance in
``structures/SOURCES.md``."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def data_dir() -> Path:
    """The package's data folder (a real folder: the package is installed unzipped)."""
    return Path(str(files(__name__)))


def species_dir() -> Path:
    """Geometries of the species library (``<name>.xyz``)."""
    return data_dir() / "species"


def shipped_hosts_dir() -> Path:
    """Relaxed library hosts shipped with the package (read-only)."""
    return data_dir() / "hosts"
