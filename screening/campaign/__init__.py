"""Campaign files (YAML) → validated structures, quantities and the set of calculations.

Three steps, one module each: :mod:`.yamlfile` reads the YAML and remembers every line;
:mod:`.schema` checks the structures and each quantity against its kind's schema;
:mod:`.resolve` builds what costs compute (hosts, GFN2-xTB guest references), in full for a
run and cheaply (no xTB, nothing written) for ``screening validate``.

Everything is checked before any compute is spent: unknown keys, species, presets, functionals
and basis sets; malformed or missing structure files; overlapping atoms; charge/multiplicity
that do not fit the electron count; fragment indices that do not partition their complex;
fragment charges that do not add up. Every error names the file, line and field.

Schema (see ``workflows/quickstart.yaml`` for a worked example)::

    name: quickstart                 # letters, digits, '-', '_'
    description: free text
    method: screening                # preset name, or a mapping of Method fields (+ preset:)
    counterpoise: true               # optional, overrides the method's default
    gpu: false                       # route the calculations to GPU workers (_category: gpu)
    tiers:                           # instead of method: named levels, --tier picks (first default)
      fast: {method: gfn2-xtb, description: GFN2-xTB geometries and energies}
      dft: {method: screening}
      dft-gpu: {method: screening, gpu: true}
    orderings:                       # published orderings, checked on our values
      - {claim: "...", increasing: [quantity A, quantity B], source: "seed 000, Fig. 3"}
    structures:                      # named structures; library species are known by name
      Li+PC:
        file: ../structures/complexes/Li_PC.xyz   # xyz/cif/..., relative to this file
        charge: 1
        multiplicity: 1
        fragments:                   # 0-based atom indices (ASE order); "a-b" ranges inclusive
          - {name: Li+, atoms: [0], charge: 1, reference: Li+}
          - {name: PC, atoms: "1-13", reference: PC}    # or file: fragment.xyz
      Li+(EC)3(DEC):                 # a solvation shell (screening.complexes), GFN2-xTB relaxed;
        shell: {ion: Li+, ligands: [EC, EC, EC, DEC], candidates: 6, seed: 7}  # ion | rest
    quantities:
      - {name: Li+ binding to PC, kind: binding, complex: Li+PC,
         paper: {value_eV: -2.3, source: "paper, Fig. 1"},   # set beside ours, never used
         tiers: [dft]}                  # computed at these tiers only (default: every tier)
      - {name: ..., kind: desolvation, complex: ...}
      - {name: ..., kind: dissociation, paired: LiTFSI, products: [Li+, TFSI-]}  # or separated:
      - {name: ..., kind: reaction, terms: [{structure: A, coefficient: -1}, ...]}
      - {name: ..., kind: barrier, initial: A, final: B, images: 5, fixed: "1-6",
         mode: dft, fmax: 0.05}          # mode: dft | xtb-path (DFT single points on an xTB band)
      - {name: ..., kind: barrier,      # an ion hop between two sites of a host (screening.hops)
         path_type: pvdf-hfp-chain}     # a named seed path, or host:, from:, to: (site[:index]),
                                        # guest: (Li+), active_radius: 6.0, prerelax: true
      - {name: ..., kind: binding,      # a guest placed in a host (screening.placement)
         host: CC3,                     # library host, or {name: HKUST-1, cluster: paddlewheel}
         guest: TFSI-, sites: [endo, window], poses: 8, keep: 3, seed: 7, relax: true,
         screen_fmax: 0.3,              # optional: all poses to 0.3 eV/Å, the best 2×keep on
         prerelax: gfn-ff}              # optional: every candidate relaxed with GFN-FF first
                                        # (or screen: gfn-ff: all to GFN-FF, scored by GFN2-xTB
                                        # single points, the best 2×keep relaxed with GFN2-xTB)
      - {name: ..., kind: binding,      # several guests placed together, fragments by role
         host: {name: HKUST-1, cluster: paddlewheel}, guests: [Li+, TFSI-, PC, PC],
         sites: open_metal, split: [Li+]}   # Li+ against everything else
      - {name: ..., kind: dissociation, # a salt on a substrate: E(separated) - E(contact)
         host: SiO2, salt: [Li+, TFSI-], separation: 6.0, sites: [silanol_O], poses: 4}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError
from ..geometry import Molecule
from ..hashing import content_hash
from ..methods import Method, get_method
from ..quantities import Quantity, quantity_from_dict, quantity_to_dict, with_oniom_regions
from .papers import Annotations, load_tiers
from .resolve import Resolver
from .schema import load_quantities, load_structures
from .yamlfile import check_keys, get_flag, parse_indices, read_yaml

__all__ = ["Campaign", "Resolver", "load_campaign", "load_every_tier", "parse_indices"]


MAX_CALCULATIONS = 5000
"""Default limit on a campaign's single points and pose relaxations together."""


@dataclass
class Campaign:
    """A validated campaign: its method, named structures and quantities."""

    name: str
    method: Method
    quantities: list[Quantity]
    structures: dict[str, Molecule] = field(default_factory=dict)
    description: str = ""
    gpu: bool = False
    source: str = ""
    tier: str = ""
    tiers: tuple[str, ...] = ()
    notes: Annotations = field(default_factory=Annotations)

    def calculations(self) -> list[tuple[Molecule, dict]]:
        """Distinct molecules to compute, each with its labels (campaign, job), in a stable order."""
        seen: dict[str, tuple[Molecule, dict]] = {}
        for q in self.quantities:
            for mol in q.molecules():
                seen.setdefault(mol.key(), (mol, {"campaign": self.name,
                                                  "job": f"{q.name} :: {mol.name}"}))
        return list(seen.values())

    def size(self) -> dict[str, int]:
        """What the campaign may compute: ``calculations`` (single points now known plus those
        the structure searches' results add, :meth:`Quantity.calculations_after_search`),
        ``relaxations`` (GFN2-xTB pose relaxations) and ``images`` (NEB images)."""
        after_search = sum(q.calculations_after_search() for q in self.quantities)
        return {"calculations": len(self.calculations()) + after_search,
                "relaxations": sum(s.n_poses * len(s.sites) for q in self.quantities
                                   for s in q.placements),
                "images": sum(q.path.images for q in self.quantities if q.path is not None)}

    def check_size(self, max_calculations: int = MAX_CALCULATIONS) -> dict[str, int]:
        """:meth:`size`, or InputError when it plans more than ``max_calculations`` single
        points and relaxations together (raise the limit to run it anyway)."""
        size = self.size()
        total = size["calculations"] + size["relaxations"]
        if total > max_calculations:
            raise InputError(f"campaign {self.name!r} plans {size['calculations']} calculations "
                             f"and {size['relaxations']} pose relaxations, more than the limit "
                             f"of {max_calculations}; give --max-calculations {total} to run "
                             "it anyway", self.source)
        return size

    def to_dict(self) -> dict:
        """JSON-friendly form (the collector Firework carries it)."""
        return {"name": self.name, "method": self.method.to_dict(),
                "quantities": [quantity_to_dict(q) for q in self.quantities],
                "description": self.description, "gpu": self.gpu, "source": self.source,
                "tier": self.tier, "tiers": list(self.tiers), "notes": self.notes.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "Campaign":
        return cls(d["name"], Method(**d["method"]),
                   [quantity_from_dict(q) for q in d["quantities"]],
                   description=d.get("description", ""), gpu=d.get("gpu", False),
                   source=d.get("source", ""), tier=d.get("tier", ""),
                   tiers=tuple(d.get("tiers", ())), notes=Annotations.from_dict(d.get("notes")))

    def only(self, names: list[str]) -> "Campaign":
        """The campaign with only the quantities ``names`` (InputError for a name it lacks or
        that its tier leaves out)."""
        known = {q.name for q in self.quantities}
        for n in names:
            if n not in known:
                where = (self.left_out(n) if n in self.notes.elsewhere
                         else f"no such quantity; its quantities: {', '.join(sorted(known))}")
                raise InputError(f"--only {n!r}: {where}", self.source)
        return replace(self, quantities=[q for q in self.quantities if q.name in names],
                       notes=replace(self.notes, elsewhere={}))

    def left_out(self, name: str) -> str:
        """Why quantity ``name`` of the campaign file is not in this tier, naming its tiers."""
        return f"not in tier {self.tier} (its tiers: {', '.join(self.notes.elsewhere[name])})"

    @property
    def results_folder(self) -> str:
        """Where its tables go by default: ``results/<name>`` (``/<tier>`` for a tiered one)."""
        return f"results/{self.name}/{self.tier}" if self.tier else f"results/{self.name}"

    def key(self) -> str:
        """Content hash of what the campaign computes (name, method, quantities, and the key of
        each structure search, which also marks how it samples: a search whose sampling changed
        gets a new workflow, so it runs again instead of being found done)."""
        d = self.to_dict()
        payload = [d["name"], d["method"], d["quantities"]]
        searches = [p.key() for q in self.quantities for p in q.placements]
        if searches:
            payload.append(searches)
        return content_hash(payload, sort_keys=True)


def load_every_tier(path: str | Path, tiers: list[str] | None = None,
                    resolver: Resolver | None = None) -> list[Campaign]:
    """The campaign at each of ``tiers`` (default: all its tiers; one campaign if it has none),
    loaded with one resolver (default a new one) so that what is built for one tier is reused
    by the next."""
    resolver = resolver or Resolver()
    first = load_campaign(path, resolver=resolver)
    wanted = tiers or list(first.tiers)
    if not wanted:
        return [first]
    return [first if t == first.tier else load_campaign(path, tier=t, resolver=resolver)
            for t in wanted]


def load_campaign(path: str | Path, check_only: bool = False,
                  cache_dir: str | Path | None = None, tier: str | None = None,
                  resolver: Resolver | None = None) -> Campaign:
    """Read, check and resolve a campaign file.

    Parameters
    ----------
    tier : of a campaign with ``tiers:``, the one to load (default: the first).
    resolver : one to share between loads (of several tiers), so that what it built once is
        reused; default a new one.
    check_only : validation only: hosts from the caches or built unrelaxed, no GFN2-xTB, no
        file written (see :mod:`.resolve`). The campaign is then for listing, not for running.
    cache_dir : user cache of built hosts (default: the settings').

    Raises
    ------
    InputError
        with file, line and field of the first problem found.
    """
    path = Path(path)
    raw, ctx = read_yaml(path)
    src = ctx.source
    check_keys(ctx, raw, {"name", "description", "method", "counterpoise", "gpu", "structures",
                          "quantities", "tiers", "orderings"}, "")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
        raise ctx.error("name is required: letters, digits, '-' or '_'", raw, "name", "name")
    tiers = load_tiers(ctx, raw)
    if tiers and "method" in raw:
        raise ctx.error("give method: or tiers: (each with its method), not both", raw,
                        "method", "method")
    if tier is not None and tier not in tiers:
        known = ", ".join(tiers) if tiers else "none (it has one method)"
        raise InputError(f"--tier {tier}: campaign {name!r} has no such tier; its tiers: "
                         f"{known}", src, field="tiers")
    if tiers:
        chosen = tiers[tier or next(iter(tiers))]
        method = chosen.method
    elif "method" not in raw:
        raise ctx.error("method is required (a preset such as 'screening', or a mapping), or "
                        "tiers:", raw, None, "method")
    else:
        chosen = None
        try:
            method = get_method(raw["method"], src, "method")
        except InputError as exc:
            raise InputError(exc.message, src, raw.lines["method"], exc.field) from None
    if "counterpoise" in raw:
        method = method.with_options(counterpoise=get_flag(ctx, raw, "counterpoise",
                                                           "counterpoise"))
    if method.is_xtb:  # no basis to lend: counterpoise does not apply
        method = method.with_options(counterpoise=False)
    gpu = get_flag(ctx, raw, "gpu", "gpu") or bool(chosen and chosen.gpu)
    resolver = resolver or Resolver(check_only, cache_dir)
    parts: dict = {}
    notes = Annotations()
    structures = load_structures(ctx, raw, path.parent, resolver, parts)
    quantities = load_quantities(ctx, raw, structures, method.counterpoise, resolver, parts,
                                 tiers, chosen.name if chosen else None, notes)
    if method.is_xtb:
        quantities = [replace(q, counterpoise=False) if q.counterpoise else q
                      for q in quantities]
    if not quantities:
        raise InputError(f"no quantity of campaign {name!r} is computed at tier "
                         f"{chosen.name if chosen else ''!r}", src, field="tiers")
    try:  # the ONIOM region of each complex: a problem is reported at the method's line
        quantities = [with_oniom_regions(q, method) for q in quantities]
    except InputError as exc:
        raise InputError(exc.message, src, raw.lines["method"], exc.field) from None
    return Campaign(name, method, quantities, {k: v[0] for k, v in structures.items()},
                    str(raw.get("description", "")), gpu, src, chosen.name if chosen else "",
                    tuple(tiers), notes)
