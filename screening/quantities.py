"""Quantities as reactions over single-point energies: ΔE = Σ νᵢ E(speciesᵢ).

One class per quantity kind. Each says which calculations it needs (:meth:`Quantity.molecules`),
how its value is assembled from stored energies (:meth:`Quantity.reactions`, a set of named
:class:`Reaction` objects) and what its table row reads (:meth:`Quantity.row`). A new kind is a
new subclass registered in :data:`KINDS`, plus its schema in :mod:`screening.campaign.schema`.
Definitions (energies in eV in tables, Hartree in the store):

binding / adsorption (:class:`Binding`)
    E_bind = E(complex) − Σ E(fragment). Negative = bound. With a relaxed ``reference`` per
    fragment, E(fragment) is the relaxed fragment's energy; otherwise the fragment frozen at its
    geometry in the complex (then E_bind is the interaction energy). Components reported apart:

    * ``interaction`` = E(complex) − Σ E(fragment frozen, own basis)
    * ``interaction_cp`` = E(complex) − Σ E(fragment frozen, complex basis; other atoms ghosts)
      (Boys–Bernardi counterpoise; dispersion of each fragment on its real atoms only)
    * ``bsse`` = interaction_cp − interaction: the counterpoise correction (≥ 0 for binding)
    * ``deformation`` = Σ [E(fragment frozen) − E(fragment relaxed)] (≥ 0 at a minimum)

    ``value`` = interaction_cp + deformation with counterpoise, else interaction + deformation.
placement (:class:`Placement`)
    a binding quantity whose complexes are the kept poses of :mod:`screening.placement`, one
    :class:`Binding` row each, referenced to the relaxed host and guest.
desolvation (:class:`Desolvation`)
    −ΔE with ΔE = E(Li⁺·A) − E(A) − E(Li⁺), A the solvent/polymer shell (seed 004, eq. 4): the
    negative of the binding energy of the ion to the shell, with the same components.
dissociation (:class:`Dissociation`)
    E(products) − E(paired), e.g. E(substrate ⊃ Li⁺ and TFSI⁻ separated) − E(substrate ⊃ LiTFSI)
    (seed 003), or with ``products`` a list of separate structures at infinite separation,
    E(Li⁺) + E(TFSI⁻) − E(LiTFSI).
reaction (:class:`ReactionQuantity`)
    Any Σ νᵢ E(structureᵢ) given explicitly.
barrier (:class:`Barrier`)
    Climbing-image NEB between two endpoints (see :mod:`screening.neb`): ``value`` is the forward
    barrier max(band) − E(initial), ``reverse`` is max(band) − E(final).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np
from ase.units import Hartree

from .geometry import Molecule
from .methods import Method
from .specs import Part, PathResult, PathSpec, PlacementSpec, Pose, calc_key, select_parts


@dataclass(frozen=True)
class Term:
    """ν × E(molecule) in a reaction; ``role`` says what the molecule is, for people."""

    coefficient: float
    molecule: Molecule
    role: str

    def to_dict(self) -> dict:
        return {"coefficient": self.coefficient, "molecule": self.molecule.to_dict(),
                "role": self.role}

    @classmethod
    def from_dict(cls, d: dict) -> "Term":
        return cls(d["coefficient"], Molecule.from_dict(d["molecule"]), d["role"])


@dataclass(frozen=True)
class Reaction:
    """ΔE = Σ νᵢ E(moleculeᵢ) at one method."""

    terms: tuple[Term, ...]

    def keys(self, method: Method) -> list[str]:
        return [calc_key(t.molecule, method) for t in self.terms]

    def evaluate(self, energies: dict[str, float], method: Method) -> float | None:
        """ΔE in eV from stored energies (Hartree) by key; None if any is missing."""
        total = 0.0
        for t, k in zip(self.terms, self.keys(method)):
            if k not in energies:
                return None
            total += t.coefficient * energies[k]
        return total * Hartree


@dataclass(frozen=True)
class Fragment:
    """A part of a complex: 0-based atom indices, charge (e), multiplicity, optional relaxed
    reference structure for the deformation energy."""

    name: str
    atoms: tuple[int, ...]
    charge: int
    multiplicity: int = 1
    reference: Molecule | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "atoms": list(self.atoms), "charge": self.charge,
                "multiplicity": self.multiplicity,
                "reference": self.reference.to_dict() if self.reference else None}

    @classmethod
    def from_dict(cls, d: dict) -> "Fragment":
        ref = d.get("reference")
        return cls(d["name"], tuple(d["atoms"]), d["charge"], d["multiplicity"],
                   Molecule.from_dict(ref) if ref else None)


PosesOf = Callable[[str], "list[Pose] | None"]
"""``poses_of(placement_key)``: the stored poses of a placement, or None if it has not run."""


class Quantity:
    """A named quantity of a campaign. Subclasses are frozen dataclasses with ``name``,
    ``kind`` and ``description`` fields and say what they need and how they are assembled."""

    KIND_NAMES: ClassVar[tuple[str, ...]] = ()
    """The campaign ``kind:`` values this class serves (the first is its default)."""

    name: str
    kind: str
    description: str
    counterpoise: bool = False
    path: PathSpec | None = None  # a barrier's path (run by a path Firework)
    placement: PlacementSpec | None = None  # a placement (run by a placement Firework)

    def reactions(self) -> dict[str, Reaction]:
        """Named reactions: ``value`` and the components that apply to this kind."""
        return {}

    def molecules(self) -> list[Molecule]:
        """Every distinct molecule whose energy this quantity needs, known before anything runs."""
        seen: dict[str, Molecule] = {}
        for r in self.reactions().values():
            for t in r.terms:
                seen.setdefault(t.molecule.key(), t.molecule)
        return list(seen.values())

    def expand(self, poses_of: PosesOf, method: Method | None = None) -> list["Quantity"]:
        """The quantities that make this one's table rows (a placement: one per stored pose),
        with ``method``'s ONIOM regions on the structures its searches made."""
        return [self]

    @property
    def placements(self) -> tuple[PlacementSpec, ...]:
        """The structure searches this quantity needs before its energies are known."""
        return (self.placement,) if self.placement is not None else ()

    def calculations_after_search(self) -> int:
        """Single points known only once :attr:`placements` have run (at most)."""
        return 0

    def row(self, method: Method, energies: dict[str, float],
            paths: dict[str, dict] | None = None) -> dict:
        """One table row: the value and components in eV (None where an energy is missing).

        ``energies``: stored energies (Hartree) by calc key; ``paths``: stored path results
        (``PathResult.to_dict()``) by path key.
        """
        row: dict = {"quantity": self.name, "kind": self.kind, "method": method.label,
                     "counterpoise": self.counterpoise}
        missing: list[str] = []
        for part, reaction in self.reactions().items():
            v = reaction.evaluate(energies, method)
            row[f"{part}_eV"] = v
            if v is None:
                missing += [t.molecule.name for t, k in zip(reaction.terms,
                                                            reaction.keys(method))
                            if k not in energies]
        row["reference"] = self.reference_label()
        row["missing"] = "; ".join(sorted(set(missing)))
        return row

    def reference_label(self) -> str:
        """What the value is referenced to, for the table's ``reference`` column."""
        return ""

    def to_dict(self) -> dict:
        """JSON-friendly form (FireWorks specs, the campaign key): one layout for every kind."""
        return {"name": self.name, "kind": self.kind, "counterpoise": self.counterpoise,
                "description": self.description, "complex": None, "fragments": [],
                "products": [], "terms": [], "path": None, "placement": None,
                **self._own_dict()}

    def _own_dict(self) -> dict:
        return {}


def _mol(d: dict | None) -> Molecule | None:
    return Molecule.from_dict(d) if d else None


BSSE_WARN_FRACTION = 0.5
"""A binding row whose BSSE exceeds this share of its uncorrected interaction says so in its
``status``: the value is basis-limited (seed 000's TFSI⁻ in CC3 at def2-SVP: 97 %; Li⁺ on
neutral ligands at def2-SVP: about 5 %; neutral solvent on a polymer: about 35 %)."""


@dataclass(frozen=True)
class Binding(Quantity):
    """E(complex) − Σ E(fragments), with counterpoise and deformation components (see module)."""

    KIND_NAMES: ClassVar[tuple[str, ...]] = ("binding", "adsorption")
    SIGN: ClassVar[float] = 1.0

    name: str
    complex: Molecule
    fragments: tuple[Fragment, ...]
    counterpoise: bool = False
    description: str = ""
    kind: str = "binding"

    def frozen_fragment(self, f: Fragment, full_basis: bool) -> Molecule:
        """Fragment ``f`` at its geometry in the complex, alone or in the complex's basis."""
        basis = "complex basis" if full_basis else "own basis"
        return self.complex.subset(f.atoms, f.charge, f.multiplicity, ghost_rest=full_basis,
                                   name=f"{f.name} in {self.complex.name} ({basis})")

    def reactions(self) -> dict[str, Reaction]:
        sign = self.SIGN
        cx = Term(sign, self.complex, "complex")
        own = [Term(-sign, self.frozen_fragment(f, False), f"{f.name} frozen")
               for f in self.fragments]
        out = {"interaction": Reaction((cx, *own))}
        deformation: list[Term] = []
        if all(f.reference is not None for f in self.fragments):
            for f, t in zip(self.fragments, own):
                deformation += [Term(-t.coefficient, t.molecule, t.role),
                                Term(t.coefficient, f.reference, f"{f.name} relaxed")]
            out["deformation"] = Reaction(tuple(deformation))
        if self.counterpoise:
            ghost = [Term(-sign, self.frozen_fragment(f, True), f"{f.name} in complex basis")
                     for f in self.fragments]
            out["interaction_cp"] = Reaction((cx, *ghost))
            out["bsse"] = Reaction((*ghost, *[Term(-t.coefficient, t.molecule, t.role)
                                              for t in own]))
            out["value"] = Reaction((cx, *ghost, *deformation))
        else:
            out["value"] = Reaction((cx, *own, *deformation))
        return out

    def row(self, method: Method, energies: dict[str, float],
            paths: dict[str, dict] | None = None) -> dict:
        """:meth:`Quantity.row`, whose ``status`` says where the counterpoise correction is more
        than :data:`BSSE_WARN_FRACTION` of the uncorrected interaction: the basis is too small
        for the value to mean much (an anion at def2-SVP, say)."""
        row = super().row(method, energies, paths)
        bsse, interaction = row.get("bsse_eV"), row.get("interaction_eV")
        if bsse is not None and interaction and abs(bsse) > BSSE_WARN_FRACTION * abs(interaction):
            row["status"] = (f"BSSE {abs(bsse / interaction):.0%} of the interaction: "
                             "basis too small")
        return row

    def reference_label(self) -> str:
        return ("relaxed fragments" if all(f.reference is not None for f in self.fragments)
                else "frozen fragments")

    def _own_dict(self) -> dict:
        return {"complex": self.complex.to_dict(),
                "fragments": [f.to_dict() for f in self.fragments]}

    @classmethod
    def from_dict(cls, d: dict) -> "Binding":
        return cls(d["name"], Molecule.from_dict(d["complex"]),
                   tuple(Fragment.from_dict(f) for f in d["fragments"]),
                   d.get("counterpoise", False), d.get("description", ""), d["kind"])


@dataclass(frozen=True)
class Desolvation(Binding):
    """−(binding energy of the ion to its shell): seed 004's desolvation energy."""

    KIND_NAMES: ClassVar[tuple[str, ...]] = ("desolvation",)
    SIGN: ClassVar[float] = -1.0

    kind: str = "desolvation"


@dataclass(frozen=True)
class Placement(Quantity):
    """A guest placed in a host (:mod:`screening.placement`): one :class:`Binding` row per kept
    pose, each referenced to the relaxed host and guest (so deformation is reported too)."""

    KIND_NAMES: ClassVar[tuple[str, ...]] = ("binding", "adsorption")

    name: str
    placement: PlacementSpec
    counterpoise: bool = False
    description: str = ""
    kind: str = "binding"
    split: tuple[str, ...] = ()
    """Roles or species names of one fragment (``rest``: every other part); default: the host
    against all the guests."""
    references_first: bool = True
    """Whether the host and the guest are computed before the search, as every pose's
    references. Not at an ONIOM method (:func:`with_oniom_regions`): there each pose's
    references carry that pose's region, and the bare host would be full DFT."""

    def molecules(self) -> list[Molecule]:
        """What can be computed before the search: the host and the guest, the references of
        every pose; nothing with :attr:`split` (its fragments are frozen, with no references)
        or without :attr:`references_first`. The poses are known once placed
        (:meth:`pose_quantity`)."""
        assert self.placement.host_molecule is not None
        if self.split or not self.references_first:
            return []
        return [self.placement.host_molecule, self.placement.guest]

    def calculations_after_search(self) -> int:
        """Single points of the kept poses (over all sites): the complex and its two frozen
        fragments, their ghost-basis partners with counterpoise, and the fragments' references
        where they are not computed before the search (:attr:`references_first` off, no
        :attr:`split`)."""
        per_pose = 3 + (2 if self.counterpoise else 0)
        per_pose += 2 if not (self.split or self.references_first) else 0
        return self.placement.keep * per_pose

    def pose_quantity(self, pose: Pose) -> Binding:
        """The binding quantity of one pose: by default fragments host and guest, referenced to
        each alone (so the deformation energy is reported); with :attr:`split`, the parts it
        names against the rest, both frozen (an interaction energy)."""
        spec = self.placement
        host, guest = spec.host_molecule, spec.guest
        assert host is not None
        n, total = pose.host_atoms, pose.molecule.natoms
        name = f"{self.name} [{pose.final_site} #{pose.rank}]"
        if self.split:
            frags = split_fragments(spec.parts(), self.split)
        else:
            frags = (Fragment(spec.host_name, tuple(range(n)), host.charge, host.multiplicity,
                              host),
                     Fragment(guest.name or "guest", tuple(range(n, total)), guest.charge,
                              guest.multiplicity, guest))
        return Binding(name, pose.molecule, frags, self.counterpoise, self.description,
                       self.kind)

    def expand(self, poses_of: PosesOf, method: Method | None = None) -> list[Quantity]:
        poses = poses_of(self.placement.key())
        if not poses:
            return [self]
        rows = [self.pose_quantity(p) for p in poses]
        return rows if method is None else [with_oniom_regions(q, method) for q in rows]

    def row(self, method: Method, energies: dict[str, float],
            paths: dict[str, dict] | None = None) -> dict:
        """The row of a placement that has not run yet: a gap, named."""
        return {"quantity": self.name, "kind": self.kind, "method": method.label,
                "counterpoise": self.counterpoise,
                "missing": f"poses of {self.name} (placement not run)"}

    def _own_dict(self) -> dict:
        return {"placement": self.placement.to_dict(),
                **({"split": list(self.split)} if self.split else {}),
                **({} if self.references_first else {"references_first": False})}

    @classmethod
    def from_dict(cls, d: dict) -> "Placement":
        return cls(d["name"], PlacementSpec.from_dict(d["placement"]),
                   d.get("counterpoise", False), d.get("description", ""), d["kind"],
                   tuple(d.get("split", ())), d.get("references_first", True))


def split_fragments(parts: tuple[Part, ...], names: tuple[str, ...]
                    ) -> tuple[Fragment, Fragment]:
    """Two frozen fragments of an assembled complex: the parts whose role or name is in
    ``names``, and the rest. Charges add; unpaired electrons are taken as parallel."""
    chosen = select_parts(parts, names)
    rest = [p for p in parts if p not in chosen]

    def fragment(ps: list[Part]) -> Fragment:
        counts: dict[str, int] = {}
        for p in ps:
            counts[p.name] = counts.get(p.name, 0) + 1
        label = "+".join(n if c == 1 else f"{c} {n}" for n, c in counts.items())
        return Fragment(label, tuple(sorted(a for p in ps for a in p.atoms)),
                        sum(p.charge for p in ps), 1 + sum(p.multiplicity - 1 for p in ps))

    return fragment(chosen), fragment(rest)


@dataclass(frozen=True)
class IonPairDissociation(Quantity):
    """A salt's dissociation on a substrate (seed 003): E(separated) − E(contact pair), both
    states searched on the same host (:mod:`screening.complexes`), the best of each."""

    KIND_NAMES: ClassVar[tuple[str, ...]] = ("dissociation",)

    name: str
    contact: PlacementSpec
    separated: PlacementSpec
    description: str = ""
    kind: str = "dissociation"

    @property
    def placements(self) -> tuple[PlacementSpec, ...]:
        return (self.contact, self.separated)

    def molecules(self) -> list[Molecule]:
        return []  # both states are known once searched

    def calculations_after_search(self) -> int:
        return 2  # the best contact pair and the best separated state

    def expand(self, poses_of: PosesOf, method: Method | None = None) -> list[Quantity]:
        """The dissociation of the best contact and separated states, once both are searched.

        With an ONIOM ``method`` both states carry one region, by atom: the host atoms near
        the ions in either state, closed over the bonds of both (as a path's endpoints). The
        subtractive energy of a region is only comparable between structures with the same
        atoms and caps in it; a region of each state's own would leave the difference of the
        two levels' total energies of the host atoms only one state holds (hundreds of eV).
        """
        from dataclasses import replace

        from .engines.oniom import joint_region

        contact, separated = poses_of(self.contact.key()), poses_of(self.separated.key())
        if not contact or not separated:
            return [self]
        paired, apart = contact[0].molecule, separated[0].molecule
        if method is not None and method.oniom_radius is not None:
            ions = list(range(contact[0].host_atoms, paired.natoms))
            region = joint_region((paired, apart), ions, method.oniom_radius,
                                  source=f"quantity {self.name!r}", **method.oniom_options())
            paired, apart = replace(paired, model=region), replace(apart, model=region)
        return [Dissociation(self.name, paired, (apart,), self.description, self.kind)]

    def row(self, method: Method, energies: dict[str, float],
            paths: dict[str, dict] | None = None) -> dict:
        """The row of a pair whose states have not been searched yet: a gap, named."""
        return {"quantity": self.name, "kind": self.kind, "method": method.label,
                "counterpoise": False,
                "missing": f"contact and separated states of {self.name} (not searched yet)"}

    def _own_dict(self) -> dict:
        return {"placement": self.contact.to_dict(), "separated_state": self.separated.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "IonPairDissociation":
        return cls(d["name"], PlacementSpec.from_dict(d["placement"]),
                   PlacementSpec.from_dict(d["separated_state"]), d.get("description", ""),
                   d["kind"])


@dataclass(frozen=True)
class Dissociation(Quantity):
    """E(products) − E(paired): a salt's dissociation (seed 003)."""

    KIND_NAMES: ClassVar[tuple[str, ...]] = ("dissociation",)

    name: str
    paired: Molecule
    products: tuple[Molecule, ...]
    description: str = ""
    kind: str = "dissociation"

    def reactions(self) -> dict[str, Reaction]:
        terms = [Term(-1.0, self.paired, "paired")]
        terms += [Term(1.0, p, "products") for p in self.products]
        return {"value": Reaction(tuple(terms))}

    def _own_dict(self) -> dict:
        return {"complex": self.paired.to_dict(),
                "products": [p.to_dict() for p in self.products]}

    @classmethod
    def from_dict(cls, d: dict) -> "Dissociation":
        return cls(d["name"], Molecule.from_dict(d["complex"]),
                   tuple(Molecule.from_dict(p) for p in d["products"]),
                   d.get("description", ""), d["kind"])


@dataclass(frozen=True)
class ReactionQuantity(Quantity):
    """Any Σ νᵢ E(structureᵢ) given term by term."""

    KIND_NAMES: ClassVar[tuple[str, ...]] = ("reaction",)

    name: str
    terms: tuple[Term, ...]
    description: str = ""
    kind: str = "reaction"

    def reactions(self) -> dict[str, Reaction]:
        return {"value": Reaction(self.terms)}

    def _own_dict(self) -> dict:
        return {"terms": [t.to_dict() for t in self.terms]}

    @classmethod
    def from_dict(cls, d: dict) -> "ReactionQuantity":
        return cls(d["name"], tuple(Term.from_dict(t) for t in d["terms"]),
                   d.get("description", ""), d["kind"])


@dataclass(frozen=True)
class Barrier(Quantity):
    """Forward and reverse barrier of a migration path (climbing-image NEB)."""

    KIND_NAMES: ClassVar[tuple[str, ...]] = ("barrier",)

    name: str
    path: PathSpec
    description: str = ""
    kind: str = "barrier"

    def reactions(self) -> dict[str, Reaction]:
        """The endpoints' energy difference, unless the path relaxes them (then their energies
        come with the path record)."""
        if self.path.relaxes:
            return {}
        return {"endpoints": Reaction((Term(-1.0, self.path.initial, "initial"),
                                       Term(1.0, self.path.final, "final")))}

    def row(self, method: Method, energies: dict[str, float],
            paths: dict[str, dict] | None = None) -> dict:
        row = {"quantity": self.name, "kind": self.kind, "method": method.label,
               "counterpoise": False}
        res = (paths or {}).get(self.path.key(method))
        if res is None:
            return {**row, "value_eV": None, "reverse_eV": None, "status": "",
                    "missing": f"path {self.path.name}"}
        return {**row, "value_eV": res["forward_eV"], "reverse_eV": res["reverse_eV"],
                "well_eV": PathResult.from_dict(res).well_eV,
                "method": res["method"], "status": res["status"], "reference": "initial state",
                "missing": "" if res["status"] != "failed"
                else f"path {self.path.name}: {res['reason']}"}

    def _own_dict(self) -> dict:
        return {"path": self.path.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "Barrier":
        return cls(d["name"], PathSpec.from_dict(d["path"]), d.get("description", ""), d["kind"])


QUANTITY_CLASSES: tuple[type[Quantity], ...] = (Binding, Desolvation, Dissociation,
                                                ReactionQuantity, Barrier)
KINDS: tuple[str, ...] = ("binding", "adsorption", "desolvation", "dissociation", "reaction",
                          "barrier")
"""Every campaign ``kind:``; a binding with ``host:`` and ``guest:`` is a :class:`Placement`."""


def evaluate(quantity: Quantity, method: Method, energies: dict[str, float],
             paths: dict[str, dict] | None = None) -> dict:
    """One table row of ``quantity`` (see :meth:`Quantity.row`)."""
    return quantity.row(method, energies, paths)


def quantity_to_dict(q: Quantity) -> dict:
    """JSON-friendly form of a quantity (for FireWorks specs)."""
    return q.to_dict()


def quantity_from_dict(d: dict) -> Quantity:
    """Inverse of :func:`quantity_to_dict`."""
    if d.get("separated_state"):
        return IonPairDissociation.from_dict(d)
    if d.get("placement"):
        return Placement.from_dict(d)
    cls = next(c for c in QUANTITY_CLASSES if d["kind"] in c.KIND_NAMES)
    return cls.from_dict(d)


def with_oniom_regions(q: Quantity, method: Method, source: str | None = None) -> Quantity:
    """``q`` with the ONIOM high-level region of ``method`` set on its structures (no change
    for a single-level method).

    A barrier's region is grown from its mobile atoms in both endpoints and shared by every
    image (:func:`path_with_oniom_region`). A binding or desolvation grows its region from
    every fragment but the largest (the host or shell): the complex carries it, and so do its
    fragments, their ghost partners and the fragments' relaxed references (the same atoms of
    each), so every term of the energy has the same region. Placements get theirs pose by pose
    (:meth:`Placement.pose_quantity` through this function), references included, so their
    host and guest are not computed before the search. Other kinds are refused (InputError
    naming ``method.oniom``), and so is a region that holds no atom of the host (the ONIOM
    binding energy would be the GFN2-xTB one).
    """
    from dataclasses import replace

    from .engines.oniom import model_region
    from .errors import InputError

    if method.oniom_radius is None or isinstance(q, IonPairDissociation):
        return q  # a dissociation's regions: pose by pose (IonPairDissociation.expand)
    if isinstance(q, Placement):  # regions pose by pose (Placement.expand), references too
        return replace(q, references_first=False)
    if isinstance(q, Barrier):
        return replace(q, path=path_with_oniom_region(q.path, method, source))
    if not isinstance(q, Binding):
        raise InputError(f"quantity {q.name!r}: ONIOM is available for binding, adsorption, "
                         f"desolvation and barrier quantities (placements included) and a "
                         f"salt's dissociation on a host, not {q.kind} from given structures "
                         "yet", source, field="method.oniom")
    by_size = sorted(q.fragments, key=lambda f: len(f.atoms))
    core = sorted(a for f in by_size[:-1] for a in f.atoms)
    region = model_region(q.complex, core, method.oniom_radius, source=source,
                          **method.oniom_options())
    host = by_size[-1]
    if not region & set(host.atoms):
        pos = np.asarray(q.complex.positions)
        nearest = min(np.linalg.norm(pos[list(host.atoms)] - pos[a], axis=1).min() for a in core)
        raise InputError(f"quantity {q.name!r}: the ONIOM region at {method.oniom_radius:g} Å "
                         f"holds no atom of {host.name!r} (its nearest atom is {nearest:.2f} Å "
                         "from the guest), so the binding energy would be the GFN2-xTB one; "
                         f"give a radius above {nearest:.2f} Å", source,
                         field="method.oniom.radius")
    fragments = []
    for f in q.fragments:
        ref = f.reference
        if ref is not None:
            if ref.natoms != len(f.atoms):
                raise InputError(f"quantity {q.name!r}: reference of {f.name!r} has {ref.natoms} "
                                 f"atoms, the fragment {len(f.atoms)}", source,
                                 field="method.oniom")
            ref = replace(ref, model=frozenset(k for k, a in enumerate(f.atoms) if a in region))
        fragments.append(replace(f, reference=ref))
    return replace(q, complex=replace(q.complex, model=region), fragments=tuple(fragments))


ONIOM_MOVED = 0.5
"""Å: atoms that move further than this between a path's endpoints seed its ONIOM region
(when the path does not name its mobile ion)."""


def path_with_oniom_region(path: PathSpec, method: Method, source: str | None = None
                           ) -> PathSpec:
    """``path`` with one ONIOM region on both endpoints (so on every image): the regions of
    ``method``'s radius around the mobile atoms (the path's, else those that move more than
    ``ONIOM_MOVED``) in the initial and in the final state, joined
    and closed over the bonds of both (no cut either structure forbids). The region is fixed
    by atom, so the band's energy surface stays continuous as the ion moves."""
    from dataclasses import replace

    from .engines.oniom import joint_region
    from .errors import InputError

    from .neb import endpoint_shifts

    mobile = list(path.mobile) or np.flatnonzero(
        endpoint_shifts(path.initial, path.final, path.fixed) > ONIOM_MOVED).tolist()
    if not mobile:
        raise InputError(f"path {path.name!r}: ONIOM grows its region from the atoms that move, "
                         f"and no atom moves more than {ONIOM_MOVED} Å between the endpoints",
                         source, field="method.oniom")
    region = joint_region((path.initial, path.final), mobile, method.oniom_radius,
                          source=source, **method.oniom_options())
    return replace(path, initial=replace(path.initial, model=region),
                   final=replace(path.final, model=region))
