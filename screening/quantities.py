"""Quantities as reactions over single-point energies: ΔE = Σ νᵢ E(speciesᵢ).

Every quantity reduces to one or more :class:`Reaction` objects, so one collector serves all.
Definitions (energies in eV in tables, Hartree in the store):

binding / adsorption
    E_bind = E(complex) − Σ E(fragment). Negative = bound. With a relaxed ``reference`` per
    fragment, E(fragment) is the relaxed fragment's energy; otherwise the fragment frozen at its
    geometry in the complex (then E_bind is the interaction energy). Components reported apart:

    * ``interaction`` = E(complex) − Σ E(fragment frozen, own basis)
    * ``interaction_cp`` = E(complex) − Σ E(fragment frozen, complex basis; other atoms ghosts)
      (Boys–Bernardi counterpoise; dispersion of each fragment on its real atoms only)
    * ``bsse`` = interaction_cp − interaction: the counterpoise correction (≥ 0 for binding)
    * ``deformation`` = Σ [E(fragment frozen) − E(fragment relaxed)] (≥ 0 at a minimum)

    ``value`` = interaction_cp + deformation with counterpoise, else interaction + deformation.
    With ``placement`` (host + guest + sites) the complexes are the kept poses of
    :mod:`screening.placement`, one row each, referenced to the relaxed host and guest.
desolvation
    −ΔE with ΔE = E(Li⁺·A) − E(A) − E(Li⁺), A the solvent/polymer shell (seed 004, eq. 4): the
    negative of the binding energy of the ion to the shell, with the same components.
dissociation
    E(products) − E(paired), e.g. E(substrate ⊃ Li⁺ and TFSI⁻ separated) − E(substrate ⊃ LiTFSI)
    (seed 003), or with ``products`` a list of separate structures at infinite separation,
    E(Li⁺) + E(TFSI⁻) − E(LiTFSI).
reaction
    Any Σ νᵢ E(structureᵢ) given explicitly.
barrier
    Climbing-image NEB between two endpoints (see :mod:`screening.neb`): ``value`` is the forward
    barrier max(band) − E(initial), ``reverse`` is max(band) − E(final).
"""

from __future__ import annotations

from dataclasses import dataclass

from ase.units import Hartree

from .geometry import Molecule
from .methods import Method
from .neb import PathSpec
from .placement import PlacementSpec
from .store import calc_key

KINDS = ("binding", "adsorption", "desolvation", "dissociation", "reaction", "barrier")


@dataclass(frozen=True)
class Term:
    """ν × E(molecule) in a reaction; ``role`` says what the molecule is, for people."""

    coefficient: float
    molecule: Molecule
    role: str


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


@dataclass(frozen=True)
class Quantity:
    """A named quantity of a campaign, reduced to reactions by :meth:`reactions`."""

    name: str
    kind: str
    complex: Molecule | None = None
    fragments: tuple[Fragment, ...] = ()
    products: tuple[Molecule, ...] = ()
    terms: tuple[Term, ...] = ()
    counterpoise: bool = False
    description: str = ""
    path: PathSpec | None = None
    placement: PlacementSpec | None = None

    def frozen_fragment(self, f: Fragment, full_basis: bool) -> Molecule:
        assert self.complex is not None
        basis = "complex basis" if full_basis else "own basis"
        return self.complex.subset(f.atoms, f.charge, f.multiplicity, ghost_rest=full_basis,
                                   name=f"{f.name} in {self.complex.name} ({basis})")

    def reactions(self) -> dict[str, Reaction]:
        """Named reactions: ``value`` and the components that apply to this kind."""
        if self.kind == "barrier":  # from the path record; endpoints are the known energies
            assert self.path is not None
            if self.path.relaxes:  # the path relaxes them: their energies come with the path
                return {}
            return {"endpoints": Reaction((Term(-1.0, self.path.initial, "initial"),
                                           Term(1.0, self.path.final, "final")))}
        if self.kind in ("binding", "adsorption", "desolvation"):
            return self._binding_reactions(-1.0 if self.kind == "desolvation" else 1.0)
        if self.kind == "dissociation":
            assert self.complex is not None
            terms = [Term(-1.0, self.complex, "paired")]
            terms += [Term(1.0, p, "products") for p in self.products]
            return {"value": Reaction(tuple(terms))}
        return {"value": Reaction(self.terms)}

    def _binding_reactions(self, sign: float) -> dict[str, Reaction]:
        assert self.complex is not None
        cx = Term(sign, self.complex, "complex")
        own = [Term(-sign, self.frozen_fragment(f, False), f"{f.name} frozen")
               for f in self.fragments]
        out = {"interaction": Reaction((cx, *own))}
        refs = all(f.reference is not None for f in self.fragments)
        deformation: list[Term] = []
        if refs:
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

    def molecules(self) -> list[Molecule]:
        """Every distinct molecule whose energy this quantity needs (for a placement: the host
        and the guest; the poses are known once placed, see :func:`placement.pose_quantity`)."""
        if self.placement is not None:
            assert self.placement.host_molecule is not None
            return [self.placement.host_molecule, self.placement.guest]
        seen: dict[str, Molecule] = {}
        for r in self.reactions().values():
            for t in r.terms:
                seen.setdefault(t.molecule.key(), t.molecule)
        return list(seen.values())


def evaluate(quantity: Quantity, method: Method, energies: dict[str, float],
             paths: dict[str, dict] | None = None) -> dict:
    """One table row: the quantity's value and components in eV (None where an energy is missing).

    ``paths`` maps path keys to stored path results (``PathResult.to_dict()``), for barriers.
    """
    row: dict = {"quantity": quantity.name, "kind": quantity.kind, "method": method.label,
                 "counterpoise": quantity.counterpoise}
    if quantity.path is not None:
        return _barrier_row(row, quantity.path, method, (paths or {}))
    missing = []
    for part, reaction in quantity.reactions().items():
        v = reaction.evaluate(energies, method)
        row[f"{part}_eV" if part != "value" else "value_eV"] = v
        if v is None:
            missing += [t.molecule.name for t, k in zip(reaction.terms, reaction.keys(method))
                        if k not in energies]
    row["reference"] = ("relaxed fragments" if quantity.fragments and
                        all(f.reference is not None for f in quantity.fragments)
                        else "frozen fragments" if quantity.fragments else "")
    row["missing"] = "; ".join(sorted(set(missing)))
    return row


def _barrier_row(row: dict, path: PathSpec, method: Method, paths: dict[str, dict]) -> dict:
    res = paths.get(path.key(method))
    if res is None:
        return {**row, "value_eV": None, "reverse_eV": None, "status": "",
                "missing": f"path {path.name}"}
    return {**row, "value_eV": res["forward_eV"], "reverse_eV": res["reverse_eV"],
            "method": res["method"], "status": res["status"], "reference": "initial state",
            "missing": "" if res["status"] != "failed" else f"path {path.name}: {res['reason']}"}


def quantity_to_dict(q: Quantity) -> dict:
    """JSON-friendly form of a quantity (for FireWorks specs)."""
    return {
        "name": q.name, "kind": q.kind, "counterpoise": q.counterpoise,
        "description": q.description,
        "complex": q.complex.to_dict() if q.complex else None,
        "fragments": [{"name": f.name, "atoms": list(f.atoms), "charge": f.charge,
                       "multiplicity": f.multiplicity,
                       "reference": f.reference.to_dict() if f.reference else None}
                      for f in q.fragments],
        "products": [p.to_dict() for p in q.products],
        "terms": [{"coefficient": t.coefficient, "molecule": t.molecule.to_dict(),
                   "role": t.role} for t in q.terms],
        "path": q.path.to_dict() if q.path else None,
        "placement": q.placement.to_dict() if q.placement else None,
    }


def quantity_from_dict(d: dict) -> Quantity:
    """Inverse of :func:`quantity_to_dict`."""
    def mol(x: dict | None) -> Molecule | None:
        return Molecule.from_dict(x) if x else None

    return Quantity(
        d["name"], d["kind"], mol(d.get("complex")),
        tuple(Fragment(f["name"], tuple(f["atoms"]), f["charge"], f["multiplicity"],
                       mol(f.get("reference"))) for f in d.get("fragments", [])),
        tuple(Molecule.from_dict(p) for p in d.get("products", [])),
        tuple(Term(t["coefficient"], Molecule.from_dict(t["molecule"]), t["role"])
              for t in d.get("terms", [])),
        d.get("counterpoise", False), d.get("description", ""),
        PathSpec.from_dict(d["path"]) if d.get("path") else None,
        PlacementSpec.from_dict(d["placement"]) if d.get("placement") else None)
