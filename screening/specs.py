"""Data types shared by the algorithms and the orchestration: hosts and their sites, guest poses
and placement specs, migration-path specs and results, calculation keys.

This module is the types layer: it imports no algorithm module (only :mod:`geometry`,
:mod:`methods` and :mod:`hashing`, which are data too). Every type is a frozen dataclass
(``PathResult`` excepted: it is filled in as a band converges) with ``to_dict``/``from_dict``
for FireWorks specs and the results database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from .errors import InputError
from .geometry import Molecule
from .hashing import content_hash
from .methods import Method


def in_layers(molecule: Molecule, method: Method) -> bool:
    """Whether ``method`` computes ``molecule`` in ONIOM layers: an ONIOM method and a structure
    that carries a region (without one, ONIOM is the high level on the whole structure)."""
    return method.oniom_radius is not None and bool(molecule.model)


def as_computed(molecule: Molecule, method: Method) -> Molecule:
    """``molecule`` as ``method`` computes it: a method without ONIOM layers has no use for an
    ONIOM region, so the same atoms with or without one are the same calculation."""
    if molecule.model and not in_layers(molecule, method):
        return replace(molecule, model=frozenset())
    return molecule


def calc_key(molecule: Molecule, method: Method) -> str:
    """The key of one calculation: ``<structure key>-<method key>`` (the structure as the
    method computes it: :func:`as_computed`)."""
    return f"{as_computed(molecule, method).key()}-{method.key()}"


OPTIMIZERS = ("bfgs", "tric")
"""How a GFN2-xTB relaxation steps: ASE's BFGS in Cartesian coordinates (the default), or
geomeTRIC in translation-rotation-internal coordinates, which moves a guest as a body and
turns its torsions (fewer steps, each dearer; see benchmarks/README.md)."""
DEFAULT_OPTIMIZER = OPTIMIZERS[0]  # ASE BFGS in Cartesians: the one behind every stored pose


def unknown_optimizer(name: object) -> str | None:
    """What is wrong with ``name`` as one of :data:`OPTIMIZERS`; None if it is one."""
    return None if name in OPTIMIZERS else \
        f"unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}"


PRERELAXERS = ("gfn-ff",)
"""Force fields that may pre-relax placed poses before GFN2-xTB relaxes and ranks them
(``prerelax``), or be a funnel's first stage (``screen``): GFN-FF
(:mod:`screening.engines.gfnff`)."""


def unknown_prerelaxer(name: object) -> str | None:
    """What is wrong with ``name`` as one of :data:`PRERELAXERS`; None if it is one."""
    return None if name in PRERELAXERS else \
        f"unknown force field {name!r}; use one of {', '.join(PRERELAXERS)}"


def screen_conflict(screen: str | None, screen_fmax: float | None, prerelax: str | None
                    ) -> str | None:
    """Why a force-field funnel ``screen`` cannot go with ``screen_fmax`` (another first stage)
    or ``prerelax`` (which it already does); None if it can or is not set."""
    clash = "screen_fmax" if screen_fmax is not None else "prerelax" if prerelax else None
    if screen is None or clash is None:
        return None
    return (f"screen: {screen} is the funnel's first stage and relaxes every candidate with "
            f"{screen}; drop {clash}")


# --- hosts -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Site:
    """Where a guest may go.

    points : anchor positions in Å, shape (n, 3).
    normals : unit vectors pointing away from the host at each anchor (zero for a cavity centre).
    kind : ``cavity`` (guest centroid on the anchor), ``window`` (guest centroid on the anchor,
        straddling it), ``surface`` (guest outside, beyond the anchor along the normal) or
        ``atom`` (a coordinating atom: the guest's nearest atom about 2 Å out along the normal).
    """

    name: str
    kind: str
    points: np.ndarray
    normals: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", np.asarray(self.points, float).reshape(-1, 3))
        object.__setattr__(self, "normals", np.asarray(self.normals, float).reshape(-1, 3))


@dataclass(frozen=True)
class Host:
    """A host ready for placement: molecule, sites by name and provenance (``info``)."""

    name: str
    molecule: Molecule
    sites: dict[str, Site]
    info: dict = field(default_factory=dict)
    frozen: bool = False  # cut-out models (clusters, oligomer ends) keep their atoms fixed

    def site(self, name: str) -> Site:
        """The site ``name``; a clear error listing the host's sites otherwise."""
        if name not in self.sites:
            raise InputError(f"host {self.name!r} has no site {name!r}; its sites: "
                             f"{', '.join(sorted(self.sites))}", field="site")
        return self.sites[name]


# --- complexes of several species ---------------------------------------------------------------

ROLES = ("host", "ion", "counter-ion", "solvent", "guest")
"""What a part of an assembled complex is: the host, the (mobile) cation, its counter-ion, a
solvent or other ligand, or any other guest."""


@dataclass(frozen=True)
class Part:
    """One species of an assembled complex: its role (see :data:`ROLES`), its name (e.g.
    ``Li+``, ``PC``), its atoms (0-based, in the complex), charge (e) and multiplicity."""

    role: str
    name: str
    atoms: tuple[int, ...]
    charge: int = 0
    multiplicity: int = 1

    def to_dict(self) -> dict:
        return {"role": self.role, "name": self.name, "atoms": list(self.atoms),
                "charge": self.charge, "multiplicity": self.multiplicity}

    @classmethod
    def from_dict(cls, d: dict) -> "Part":
        return cls(d["role"], d["name"], tuple(d["atoms"]), d["charge"], d["multiplicity"])

    def shifted(self, offset: int) -> "Part":
        """The same part with its atom indices moved by ``offset`` (a guest put after a host)."""
        return Part(self.role, self.name, tuple(a + offset for a in self.atoms), self.charge,
                    self.multiplicity)


def select_parts(parts: tuple[Part, ...], names: tuple[str, ...] | list[str]) -> list[Part]:
    """The parts whose role or name is in ``names`` (``rest``: every other part)."""
    chosen = [p for p in parts if p.role in names or p.name in names]
    if "rest" in names:
        explicit = [n for n in names if n != "rest"]
        chosen += [p for p in parts if p.role not in explicit and p.name not in explicit]
    return chosen


# --- placement ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pose:
    """A host ⊃ guest complex (host atoms first). ``xtb_eV`` ranks poses and nothing else."""

    molecule: Molecule
    site: str
    rank: int
    host_atoms: int
    xtb_eV: float | None = None
    clash_scale: float = 0.0
    final_site: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["molecule"] = self.molecule.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Pose":
        return cls(**{**d, "molecule": Molecule.from_dict(d["molecule"])})


@dataclass(frozen=True)
class PlacementSpec:
    """What to place where: host (library name and builder options), guest, sites, counts.

    ``host_molecule`` is the built host (not part of equality); the key hashes its geometry.
    ``guest_parts``: the species inside a guest made of several (a cluster, a shell, a salt).
    ``mode``: ``place`` (the guest at the sites), ``contact`` (an ion pair placed on the frozen
    host) or ``separated`` (its ions apart, the cation at a donor site, the anion at least
    ``separation`` Å away; see :mod:`screening.complexes`).
    """

    host_name: str
    host_options: tuple[tuple[str, object], ...]
    guest: Molecule
    sites: tuple[str, ...]
    n_poses: int = 8
    keep: int = 3
    seed: int = 7
    relax: bool = True
    rmsd_threshold: float = 0.5
    host_molecule: Molecule | None = field(default=None, compare=False)
    guest_parts: tuple[Part, ...] = ()
    mode: str = "place"
    separation: float = 0.0
    screen_fmax: float | None = None
    optimizer: str = DEFAULT_OPTIMIZER
    prerelax: str | None = None
    screen: str | None = None

    def key(self) -> str:
        """Content hash: host geometry, guest, sites and sampling settings (the guest's parts,
        mode and separation only where they differ from a single placed guest, the funnel's
        ``screen_fmax`` only where set, the optimizer only where it is not BFGS, the force-field
        pre-relaxation and the force-field funnel only where set, a mark of the metal-bound poses
        only where a site is ``open_metal``)."""
        d = self.to_dict()
        d.pop("host_molecule")
        d.pop("guest")
        for k in ("guest_parts", "mode", "separation", "screen_fmax", "optimizer", "prerelax",
                  "screen"):
            d.pop(k, None)
        host_key = self.host_molecule.key() if self.host_molecule else ""
        payload: list = [host_key, self.guest.key(), d]
        if self.guest_parts or self.mode != "place":
            payload.append([[p.to_dict() for p in self.guest_parts], self.mode,
                            self.separation])
        if self.screen_fmax is not None:
            payload.append({"screen_fmax": self.screen_fmax})
        if self.optimizer != DEFAULT_OPTIMIZER:
            payload.append({"optimizer": self.optimizer})
        if self.prerelax is not None:
            payload.append({"prerelax": self.prerelax})
        if self.screen is not None:
            payload.append({"screen": self.screen})
        if "open_metal" in self.sites:  # metal-bound poses (since 2026-11-25) sampled there
            payload.append({"open_metal": "metal-bound"})
        return content_hash(payload, sort_keys=True, default=str)

    def to_dict(self) -> dict:
        d = {"host_name": self.host_name, "host_options": [list(x) for x in self.host_options],
             "guest": self.guest.to_dict(), "sites": list(self.sites),
             "n_poses": self.n_poses, "keep": self.keep, "seed": self.seed,
             "relax": self.relax, "rmsd_threshold": self.rmsd_threshold,
             "host_molecule": self.host_molecule.to_dict() if self.host_molecule else None}
        if self.guest_parts or self.mode != "place":  # the layout of one placed guest stays
            d.update(guest_parts=[p.to_dict() for p in self.guest_parts], mode=self.mode,
                     separation=self.separation)
        if self.screen_fmax is not None:
            d["screen_fmax"] = self.screen_fmax
        if self.optimizer != DEFAULT_OPTIMIZER:
            d["optimizer"] = self.optimizer
        if self.prerelax is not None:
            d["prerelax"] = self.prerelax
        if self.screen is not None:
            d["screen"] = self.screen
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PlacementSpec":
        return cls(d["host_name"], tuple(tuple(x) for x in d["host_options"]),
                   Molecule.from_dict(d["guest"]), tuple(d["sites"]), d["n_poses"], d["keep"],
                   d["seed"], d["relax"], d["rmsd_threshold"],
                   Molecule.from_dict(d["host_molecule"]) if d.get("host_molecule") else None,
                   tuple(Part.from_dict(p) for p in d.get("guest_parts", ())),
                   d.get("mode", "place"), d.get("separation", 0.0), d.get("screen_fmax"),
                   d.get("optimizer", DEFAULT_OPTIMIZER), d.get("prerelax"), d.get("screen"))

    def parts(self) -> tuple[Part, ...]:
        """The parts of a placed complex: the host, then the guest's (host atoms first)."""
        assert self.host_molecule is not None
        host = self.host_molecule
        n = host.natoms
        guest_parts = self.guest_parts or (Part("guest", self.guest.name or "guest",
                                                tuple(range(self.guest.natoms)),
                                                self.guest.charge, self.guest.multiplicity),)
        return (Part("host", self.host_name, tuple(range(n)), host.charge, host.multiplicity),
                *(p.shifted(n) for p in guest_parts))


# --- migration paths ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PathSpec:
    """One migration path.

    Attributes
    ----------
    name : label.
    initial, final : endpoint geometries (same atoms in the same order, same charge/spin).
    images : number of intermediate images.
    fixed : 0-based indices of atoms held fixed (e.g. a host's anchor atoms).
    fmax : NEB force convergence threshold (eV/Å).
    max_steps : optimiser steps at most.
    mode : ``dft`` or ``xtb-path``.
    spring : NEB spring constant (eV/Å²).
    relax_endpoints : relax both endpoints (``fixed`` atoms frozen) with geomeTRIC first, then
        check that they are still distinct minima.
    prerelax : relax both endpoints with GFN2-xTB first (``fixed`` atoms frozen): the cheap
        pre-relaxation, and the endpoints of an ``xtb-path`` band.
    mobile : atoms that move between the endpoints (a hopping ion and its guest); relaxed
        endpoints whose mobile atoms all lie within ``neb.MERGED_ANGSTROM`` are the same minimum.
    origin : how the endpoints were made (e.g. the host and anchors of a hop), for reports.
    """

    name: str
    initial: Molecule
    final: Molecule
    images: int = 5
    fixed: tuple[int, ...] = ()
    fmax: float = 0.05
    max_steps: int = 200
    mode: str = "dft"
    spring: float = 0.1
    relax_endpoints: bool = False
    prerelax: bool = False
    mobile: tuple[int, ...] = ()
    origin: str = ""

    @property
    def relaxes(self) -> bool:
        """Whether the path relaxes its endpoints (so their given geometries are only a start)."""
        return self.relax_endpoints or self.prerelax

    def key(self, method: Method) -> str:
        """Content hash of the path (endpoints, settings) and the method (not ``max_steps``,
        which does not change a converged band, so that a longer rerun resumes; not
        ``origin``, a label)."""
        parts: list = [self.initial.key(), self.final.key(), self.images, sorted(self.fixed),
                       self.fmax, self.mode, self.spring, self.relax_endpoints, method.key()]
        if self.prerelax or self.mobile:
            parts += [self.prerelax, sorted(self.mobile)]
        return content_hash(parts)

    def band_key(self) -> str:
        """Content hash of what a GFN2-xTB band (mode ``xtb-path``) depends on: the path's
        endpoints (without an ONIOM region) and band settings, not the method that evaluates
        its images, so that a band converged at one tier can start the same path at another."""
        ends = [Molecule(m.symbols, m.positions, m.charge, m.multiplicity, m.ghosts).key()
                for m in (self.initial, self.final)]
        return content_hash(["GFN2-xTB band", *ends, self.images, sorted(self.fixed), self.fmax,
                             self.spring, self.relax_endpoints, self.prerelax,
                             sorted(self.mobile)])

    def to_dict(self) -> dict:
        d = asdict(self)
        d["initial"], d["final"] = self.initial.to_dict(), self.final.to_dict()
        d["fixed"], d["mobile"] = list(self.fixed), list(self.mobile)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PathSpec":
        d = dict(d)
        d["initial"], d["final"] = Molecule.from_dict(d["initial"]), Molecule.from_dict(d["final"])
        d["fixed"], d["mobile"] = tuple(d.get("fixed", ())), tuple(d.get("mobile", ()))
        return cls(**d)


@dataclass
class PathResult:
    """Outcome of a path: energies relative to the initial state (eV) and bookkeeping.

    ``computed`` holds the DFT single points the band evaluated itself (structure and
    ``EnergyResult.to_dict()``), for the caller to store; it is not part of the stored record.
    """

    name: str
    path_key: str
    mode: str
    method: str
    status: str  # converged | not converged | failed
    energies_eV: list[float]
    forward_eV: float | None
    reverse_eV: float | None
    climbing_image: int | None
    max_force_eV_A: float | None
    steps: int
    force_calls: int
    wall_s: float
    reason: str = ""
    images: list[dict] = field(default_factory=list)
    computed: list[tuple[Molecule, dict]] = field(default_factory=list, repr=False)

    @property
    def well_eV(self) -> float | None:
        """The lowest image's energy (eV, from the initial state) where it lies more than
        :data:`WELL_EV` below both ends: the band passes through a deeper minimum than its
        endpoints, so the forward barrier is not the barrier of a hop between two minima
        (that out of the well is the band's maximum minus this). None otherwise."""
        e = [x for x in self.energies_eV[1:-1] if not np.isnan(x)]  # NaN: an image with no energy
        if not e or np.isnan(self.energies_eV[-1]):
            return None
        low = min(e)
        return low if low < min(0.0, self.energies_eV[-1]) - WELL_EV else None

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "computed"}

    @classmethod
    def from_dict(cls, d: dict) -> "PathResult":
        return cls(**{k: v for k, v in d.items() if k != "computed"})


WELL_EV = 0.01
"""How far (eV) an image must lie below both ends of a band to count as a well
(:attr:`PathResult.well_eV`)."""
