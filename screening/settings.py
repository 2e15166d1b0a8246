"""One settings object for everything the environment decides: where results go, which device
and how many threads compute, how much memory PySCF may take, where host caches live.

Every field can be set by an environment variable ``SCREENING_<FIELD>`` (upper case), in code
(``Settings(threads=2)``, ``settings.replace(device="cpu")``) and, for the commonest, on the
command line (``screening run --threads 2 --device cpu``). The object is passed down to the
engines and workers, explicitly or as the default that :func:`use_settings` sets for a block;
nothing else in the package reads these variables.

>>> from screening.settings import Settings
>>> Settings.from_env({"SCREENING_THREADS": "2"}).threads
2
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Iterator, Mapping

DEVICES = ("auto", "cpu", "gpu")
ENERGY_CHECKS = ("gpu", "always", "never")


def _default_cache_dir(env: Mapping[str, str]) -> str:
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "screening")


@dataclass(frozen=True)
class Settings:
    """What the environment decides.

    Attributes
    ----------
    db : results database, a file path or a ``postgresql://`` URL (``SCREENING_DB``).
    device : ``auto`` (GPU when gpu4pyscf and a CUDA device are usable), ``cpu`` or ``gpu``.
    threads : CPU threads for PySCF; 0 = PySCF's default (all cores).
    max_memory_mb : PySCF memory limit in MB per calculation; 0 = 60 % of physical memory
        shared among ``workers``.
    energy_check : re-evaluate the energy on the final density ``gpu`` (on GPU runs),
        ``always`` or ``never``.
    cache_dir : folder for built hosts (default ``$XDG_CACHE_HOME/screening`` or
        ``~/.cache/screening``); never the installed package or the checkout.
    workers : processes that relax a placement's candidate poses side by side, one thread
        each, and calculations running side by side, which share ``max_memory_mb``'s default
        (``SCREENING_WORKERS``; ``screening run --workers`` sets it).
    """

    db: str = "results/screening.db"
    device: str = "auto"
    threads: int = 0
    max_memory_mb: int = 0
    energy_check: str = "gpu"
    cache_dir: str = ""
    workers: int = 1

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.energy_check not in ENERGY_CHECKS:
            raise ValueError(f"energy_check must be one of {', '.join(ENERGY_CHECKS)}, not "
                             f"{self.energy_check!r}")
        if self.threads < 0 or self.max_memory_mb < 0:
            raise ValueError("threads and max_memory_mb must be >= 0")
        if self.workers < 1:
            raise ValueError("workers must be >= 1")
        if not self.cache_dir:
            object.__setattr__(self, "cache_dir", _default_cache_dir(os.environ))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Defaults, then ``SCREENING_*`` variables of ``env`` (default ``os.environ``), then
        ``overrides`` (None values ignored). A malformed variable raises ValueError naming it."""
        env = os.environ if env is None else env
        values: dict = {}
        for f in fields(cls):
            var = f"SCREENING_{f.name.upper()}"
            if var in env and env[var] != "":
                raw = env[var]
                try:
                    values[f.name] = int(raw) if f.type in ("int", int) else raw.lower() \
                        if f.name in ("device", "energy_check") else raw
                except ValueError:
                    raise ValueError(f"{var}={raw!r}: must be an integer") from None
        if "cache_dir" not in values:
            values["cache_dir"] = _default_cache_dir(env)
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValueError as exc:
            raise ValueError(f"settings: {exc}") from None

    def replace(self, **changes) -> "Settings":
        """A copy with ``changes`` (None values ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def hosts_cache(self) -> Path:
        """Where built hosts are cached: ``<cache_dir>/hosts``."""
        return Path(self.cache_dir) / "hosts"


_CURRENT: ContextVar[Settings | None] = ContextVar("screening_settings", default=None)


def current_settings() -> Settings:
    """The settings in force: the innermost :func:`use_settings`, else the environment's."""
    return _CURRENT.get() or Settings.from_env()


@contextmanager
def use_settings(settings: Settings) -> Iterator[Settings]:
    """Make ``settings`` the default of everything called inside this block (engines, stores,
    host caches), e.g. the CLI's ``--threads`` for a local run."""
    token = _CURRENT.set(settings)
    try:
        yield settings
    finally:
        _CURRENT.reset(token)
