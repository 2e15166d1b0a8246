"""Levels of theory as immutable, hashable data, and the named presets.

A :class:`Method` says everything that changes a computed energy: functional, basis,
dispersion correction, density fitting, implicit solvent, grids and SCF thresholds. Its
:meth:`Method.key` (with the molecule's key) identifies a stored result. ``counterpoise`` is a
property of how quantities are assembled, not of a single calculation, so it is not in the key.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .errors import InputError, wrong_kind
from .hashing import content_hash

DISPERSIONS = ("d3bj", "d3zero", "d3bjatm", "d3mbj", "d4")
SOLVENT_MODELS = ("pcm", "smd")

#: Static dielectric constants of common electrolyte solvents (ε, dimensionless).
DIELECTRIC_CONSTANTS = {"pc": 64.9, "ec": 89.8, "dmc": 3.1, "dec": 2.8, "water": 78.36}


#: PySCF's default DFT quadrature grid level; labels name any other.
DEFAULT_GRID_LEVEL = 3


@dataclass(frozen=True)
class Method:
    """One level of theory.

    Attributes
    ----------
    functional : libxc/PySCF name, e.g. ``b3lyp``, ``wb97m-v``, ``pbe0``; ``hf`` for Hartree–Fock.
    basis : basis set name known to PySCF, e.g. ``def2-svp``.
    dispersion : ``d3bj``, ``d3zero``, ``d3bjatm``, ``d3mbj``, ``d4`` or None.
    density_fit : use density fitting (RI-J/K) with ``auxbasis`` (None = PySCF's default).
    solvent : ``pcm`` or ``smd`` or None; ``solvent_eps`` the dielectric constant for PCM,
        ``solvent_name`` the SMD solvent.
    grid_level : DFT integration grid level (0–9); ``nlc_grid_level`` for VV10 (None = default).
    conv_tol : SCF energy convergence threshold in Hartree.
    max_cycle : SCF iterations per strategy of the fallback ladder.
    counterpoise : assemble binding quantities with counterpoise correction (not in the key).
    name : preset name for display (not in the key).
        ``functional: gfn2-xtb`` is the semiempirical GFN2-xTB (tblite), with no basis,
        dispersion, solvent or ONIOM options: the fast tier of the seed campaigns.
    oniom_radius : with a value (Å), ONIOM(this level : GFN2-xTB): the high-level region is a
        structure's ``model`` atoms (:mod:`screening.engines.oniom`); ``oniom_extend``: grow
        the region over rings and multiple bonds it would cut (else refuse); ``oniom_silanol``:
        a Si in the region keeps its O neighbours, so cut Si–O bonds are capped as silanols.
        In a campaign: ``oniom: {low: gfn2-xtb, radius: 5.0}`` (+ ``extend``, ``silanol``).
        Not in the key when unset (``oniom_silanol`` only when true, so the keys of regions
        computed before it existed stay as they were).
    """

    functional: str = "b3lyp"
    basis: str = "def2-svp"
    dispersion: str | None = "d3bj"
    density_fit: bool = True
    auxbasis: str | None = None
    solvent: str | None = None
    solvent_eps: float | None = None
    solvent_name: str | None = None
    grid_level: int = DEFAULT_GRID_LEVEL
    nlc_grid_level: int | None = None
    conv_tol: float = 1e-9
    max_cycle: int = 100
    counterpoise: bool = False
    name: str = ""
    oniom_radius: float | None = None
    oniom_extend: bool = True
    oniom_silanol: bool = False

    _NOT_IN_KEY = ("counterpoise", "name")
    ONIOM_FIELDS = ("oniom_radius", "oniom_extend", "oniom_silanol")

    @property
    def is_xtb(self) -> bool:
        """GFN2-xTB (tblite) rather than a PySCF level."""
        return self.functional.lower() in XTB_FUNCTIONALS

    def key(self) -> str:
        """Content hash (hex, 16 chars) of every field that changes an energy."""
        d = {k: v for k, v in self.to_dict().items() if k not in self._NOT_IN_KEY}
        return content_hash(d, sort_keys=True)

    @property
    def high_level(self) -> "Method":
        """The single level of theory of this method (itself, less its ONIOM layering)."""
        return replace(self, oniom_radius=None, oniom_extend=True, oniom_silanol=False)

    def oniom_options(self) -> dict[str, bool]:
        """The ONIOM region's growth flags, as keywords of
        :func:`~screening.engines.oniom.model_region` and ``joint_region``."""
        return {"extend": self.oniom_extend, "silanol": self.oniom_silanol}

    @property
    def label(self) -> str:
        """Short human label, e.g. ``B3LYP-D3BJ/def2-SVP`` (+ ``/PCM(ε=64.9)``, + `` (grid 1)``
        for a quadrature grid other than PySCF's default level 3)."""
        if self.is_xtb:
            return "GFN2-xTB"
        xc = self.functional.upper().replace("WB97", "ωB97")
        if self.dispersion:
            xc += "-" + self.dispersion.upper()
        basis = self.basis.replace("DEF2", "def2").replace("def2-", "def2-")
        basis = "def2-" + basis[5:].upper() if basis.lower().startswith("def2-") else basis
        s = f"{xc}/{basis}"
        if self.solvent == "pcm":
            s += f"/PCM(ε={self.solvent_eps})"
        elif self.solvent == "smd":
            s += f"/SMD({self.solvent_name})"
        if self.grid_level != DEFAULT_GRID_LEVEL:
            s += f" (grid {self.grid_level})"
        if self.oniom_radius is not None:
            caps = ", silanol caps" if self.oniom_silanol else ""
            s = f"ONIOM({s}:GFN2-xTB, {self.oniom_radius:g} Å{caps})"
        return s

    def with_options(self, **changes: Any) -> "Method":
        """A copy with some fields changed (validated)."""
        return replace(self, **changes).validate()

    def to_dict(self) -> dict:
        """All fields; the ONIOM ones only when set (so single-level keys are as before)."""
        d = asdict(self)
        if self.oniom_radius is None:
            for k in self.ONIOM_FIELDS:
                d.pop(k)
        elif not self.oniom_silanol:
            d.pop("oniom_silanol")
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str | None = None, field_path: str = "method") -> "Method":
        """Build from a mapping; unknown keys are an error naming the key."""
        names = {f.name for f in fields(cls)}
        for k in d:
            if k not in names:
                raise InputError(f"unknown method option {k!r}; known: {', '.join(sorted(names))}",
                                 source, field=f"{field_path}.{k}")
        kinds = {f.name: str(f.type) for f in fields(cls)}
        d = {k: _typed(v, kinds[k], source, f"{field_path}.{k}") for k, v in d.items()}
        return cls(**d).validate(source, field_path)

    def validate(self, source: str | None = None, field_path: str = "method") -> "Method":
        """Check functional, basis, dispersion and solvent before anything runs."""
        from pyscf import gto
        from pyscf.dft import libxc

        if self.is_xtb:
            for name, value in (("basis", self.basis), ("dispersion", self.dispersion),
                                ("solvent", self.solvent), ("oniom", self.oniom_radius)):
                if value:
                    raise InputError(f"GFN2-xTB takes no {name} (it has its own minimal basis "
                                     "and D4 dispersion, and no solvent here)", source,
                                     field=f"{field_path}.{name}")
            return self
        if self.functional.lower() not in ("hf", "rhf", "uhf"):
            try:
                libxc.parse_xc(self.functional)
            except (KeyError, ValueError, NotImplementedError):
                raise InputError(f"unknown functional {self.functional!r}", source,
                                 field=f"{field_path}.functional") from None
        try:
            gto.basis.load(self.basis, "H")
        except Exception:
            raise InputError(f"unknown basis set {self.basis!r}", source,
                             field=f"{field_path}.basis") from None
        if self.dispersion is not None and self.dispersion not in DISPERSIONS:
            raise InputError(f"unknown dispersion {self.dispersion!r}; use one of "
                             f"{', '.join(DISPERSIONS)} or null", source,
                             field=f"{field_path}.dispersion")
        if self.solvent is not None:
            if self.solvent not in SOLVENT_MODELS:
                raise InputError(f"unknown solvent model {self.solvent!r}; use pcm or smd",
                                 source, field=f"{field_path}.solvent")
            if self.solvent == "pcm" and not (self.solvent_eps and self.solvent_eps > 1):
                raise InputError("PCM needs solvent_eps > 1 (e.g. 64.9 for propylene carbonate)",
                                 source, field=f"{field_path}.solvent_eps")
            if self.solvent == "smd" and not self.solvent_name:
                raise InputError("SMD needs solvent_name (a solvent in PySCF's SMD table)",
                                 source, field=f"{field_path}.solvent_name")
        if not 0 <= self.grid_level <= 9:
            raise InputError("grid_level must be 0..9", source, field=f"{field_path}.grid_level")
        if self.conv_tol <= 0 or self.max_cycle < 1:
            raise InputError("conv_tol must be > 0 and max_cycle >= 1", source, field=field_path)
        if self.oniom_radius is not None and not 0.5 <= self.oniom_radius <= 30.0:
            raise InputError(f"oniom radius must be 0.5–30 Å, got {self.oniom_radius}", source,
                             field=f"{field_path}.oniom.radius")
        return self


def _typed(value: Any, annotation: str, source: str | None, field: str) -> Any:
    """``value`` checked against a Method field's annotation (``str``, ``int``, ``float``,
    ``bool``, each optionally ``| None``); a float given as text (``1e-9``, which YAML reads as
    a string) becomes a number, a numpy scalar its Python twin. Raises InputError naming the
    field otherwise."""
    name, optional = annotation.replace(" ", "").removesuffix("|None"), annotation.endswith("None")
    if value is None and not optional:
        raise InputError("must have a value (null is not allowed here)", source, field=field)
    kind = {"bool": bool, "str": str, "int": int, "float": float}[name]
    if kind is float and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    problem = wrong_kind(value, kind, optional)
    if problem:
        raise InputError(problem, source, field=field)
    if value is None or kind is str:
        return value
    if kind is bool:
        return bool(value)
    # an int stays an int (also for a float field): the stored keys of existing campaigns stay
    return int(value) if isinstance(value, numbers.Integral) else float(value)


XTB_FUNCTIONALS = ("gfn2-xtb",)
"""``functional:`` values computed by tblite instead of PySCF."""

PRESETS: dict[str, Method] = {
    # Fast screening level used by the quickstart. Grid level 1 keeps every quickstart quantity
    # within 0.0013 eV of level 3 at 0.55 of the single-point time (benchmarks/grid_levels.py).
    "screening": Method("b3lyp", "def2-svp", "d3bj", True, grid_level=1, name="screening"),
    # The screening level on grid level 3: the `screening` preset before 2026-11-24 (same key), on
    # which the seed campaigns' DFT rows and the shipped structures were computed.
    "screening-grid3": Method("b3lyp", "def2-svp", "d3bj", True, name="screening-grid3"),
    # Same with implicit propylene carbonate (ε = 64.9).
    "screening-pcm": Method("b3lyp", "def2-svp", "d3bj", True, solvent="pcm", solvent_eps=64.9,
                            name="screening-pcm"),
    # Geometry level of seed 004 (B3LYP-D3/def2-TZVP).
    "geometry": Method("b3lyp", "def2-tzvp", "d3bj", True, name="geometry"),
    # Refine level of seed 004: ωB97M-V/def2-TZVPP (VV10 built in: no extra dispersion).
    "refine": Method("wb97m-v", "def2-tzvpp", None, True, name="refine"),
    # Counterpoise-corrected benchmark level for small complexes.
    "cp-tzvp": Method("b3lyp", "def2-tzvp", "d3bj", True, counterpoise=True, name="cp-tzvp"),
    # GFN2-xTB energies and gradients (tblite): the fast tier, never mixed with DFT rows. It has
    # no basis of its own to borrow, so a counterpoise correction does not apply.
    "gfn2-xtb": Method("gfn2-xtb", "", None, False, grid_level=0, name="gfn2-xtb"),
}


def get_method(spec: str | dict | Method, source: str | None = None,
               field_path: str = "method") -> Method:
    """A :class:`Method` from a preset name, a mapping (optionally ``preset:`` + overrides) or itself.

    Raises
    ------
    InputError
        for an unknown preset, option, functional or basis.
    """
    if isinstance(spec, Method):
        return spec.validate(source, field_path)
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise InputError(f"unknown method preset {spec!r}; known: {', '.join(PRESETS)}",
                             source, field=field_path)
        return PRESETS[spec]
    if isinstance(spec, dict):
        spec = dict(spec)
        if "oniom" in spec:
            spec.update(_oniom_fields(spec.pop("oniom"), source, f"{field_path}.oniom"))
        preset = spec.pop("preset", None)
        if preset is not None:
            base = get_method(preset, source, f"{field_path}.preset").to_dict()
            base.update(spec)
            if spec and "name" not in spec:
                base["name"] = f"{preset}+"
            return Method.from_dict(base, source, field_path)
        return Method.from_dict(spec, source, field_path)
    raise InputError("method must be a preset name or a mapping of options", source,
                     field=field_path)


ONIOM_LOW_LEVELS = ("gfn2-xtb",)


def _oniom_fields(spec: Any, source: str | None, field_path: str) -> dict:
    """``oniom: {low: gfn2-xtb, radius: 5.0, extend: true, silanol: false}`` → Method fields."""
    if not isinstance(spec, dict):
        raise InputError("oniom must be a mapping, e.g. {low: gfn2-xtb, radius: 5.0}", source,
                         field=field_path)
    for k in spec:
        if k not in ("low", "radius", "extend", "silanol"):
            raise InputError(f"unknown oniom option {k!r}; known: low, radius, extend, silanol",
                             source, field=f"{field_path}.{k}")
    low = str(spec.get("low", "gfn2-xtb")).lower()
    if low not in ONIOM_LOW_LEVELS:
        raise InputError(f"oniom low level {low!r} is not available; use one of "
                         f"{', '.join(ONIOM_LOW_LEVELS)}", source, field=f"{field_path}.low")
    radius = spec.get("radius")
    if wrong_kind(radius, float):
        got = "nothing" if radius is None else repr(radius)
        raise InputError("oniom needs radius: the high-level region's reach in Å around the "
                         f"guest, a number such as 5.0; got {got}", source,
                         field=f"{field_path}.radius")
    flags = {k: _typed(spec.get(k, default), "bool", source, f"{field_path}.{k}")
             for k, default in (("extend", True), ("silanol", False))}
    return {"oniom_radius": float(radius), "oniom_extend": flags["extend"],
            "oniom_silanol": flags["silanol"]}
