"""The campaign schema: named structures, and one schema per quantity kind.

Each kind's schema lists the keys it takes and turns its mapping into a quantity of
:mod:`screening.quantities`; :data:`QUANTITY_SCHEMAS` maps ``kind:`` to its schema, so a new kind
is a new entry here plus its class there. Every error names file, line and field. What costs
compute (hosts, GFN2-xTB guest references) is asked of a :class:`~.resolve.Resolver`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import InputError, wrong_kind
from ..geometry import (Molecule, check_spin, check_spin_coupling, combined_charge_multiplicity,
                        read_structure)
from ..quantities import (KINDS, Barrier, Binding, Desolvation, Dissociation, Fragment,
                          IonPairDissociation, Placement, Quantity, ReactionQuantity, Term,
                          split_fragments)
from ..species import get_species
from ..specs import Part, PathSpec, PlacementSpec, screen_conflict
from .papers import Annotations, Tier, load_orderings, load_paper, quantity_tiers
from .resolve import Resolver
from .yamlfile import (NAME_RE, Context, YamlMap, YamlSeq, check_keys, get_flag, get_int,
                       get_positive, parse_indices, require_map)

Structures = dict[str, tuple[Molecule, list]]
"""Named structures of a campaign: (molecule, fragments)."""


# --- structures --------------------------------------------------------------------------------

def load_structures(ctx: Context, raw: YamlMap, base: Path, resolver: Resolver,
                    parts: dict[str, tuple[Part, ...]] | None = None) -> Structures:
    """The ``structures:`` block: files, library species or solvation shells, their fragments
    and references. The parts of built shells are added to ``parts`` by structure name."""
    out: dict[str, tuple[Molecule, list]] = {}
    parts = {} if parts is None else parts
    block = raw.get("structures", YamlMap())
    block = require_map(ctx, block, raw, "structures", "structures")
    for sname, entry in block.items():
        path = f"structures.{sname}"
        if not isinstance(sname, str) or not NAME_RE.match(sname):
            raise ctx.error("structure names use letters, digits and + - _ . ( )", block, sname,
                            path)
        entry = require_map(ctx, entry, block, sname, path)
        check_keys(ctx, entry, {"file", "species", "shell", "charge", "multiplicity",
                                "fragments"}, path)
        if sum(k in entry for k in ("file", "species", "shell")) != 1:
            raise ctx.error("give exactly one of file:, species: or shell:", block, sname, path)
        if "shell" in entry:
            mol, parts[sname] = load_shell(ctx, entry, sname, path, out, resolver)
            if "fragments" not in entry:  # the ion against its shell, both frozen
                out[sname] = (mol, list(zip(split_fragments(parts[sname], ("ion",)),
                                            [(entry, None)] * 2)))
                continue
        elif "species" in entry:
            try:
                mol = get_species(str(entry["species"])).molecule()
            except InputError as exc:
                raise ctx.error(exc.message, entry, "species", f"{path}.species") from None
            mol = Molecule(mol.symbols, mol.positions, mol.charge, mol.multiplicity, name=sname)
        else:
            file = base / str(entry["file"])
            charge = get_int(ctx, entry, "charge", path)
            mult = get_int(ctx, entry, "multiplicity", path)
            try:
                mol = read_structure(file, charge, mult, name=sname)
            except InputError as exc:
                if exc.source == str(file):  # a problem inside the structure file: name it
                    raise InputError(f"{exc} (structures.{sname}.file, line {entry.lines['file']}"
                                     f" of {ctx.source})") from None
                raise ctx.error(exc.message, entry, "file", f"{path}.file") from None
        frags = load_fragments(ctx, entry, mol, path, base) if "fragments" in entry else []
        out[sname] = (mol, frags)
    # references are resolved once every structure is known
    for sname, (mol, frags) in out.items():
        resolved = []
        for f, (fmap, ref_name) in frags:
            ref = None
            if ref_name is not None:
                ref = structure_ref(ctx, ref_name, out, fmap, "reference",
                               f"structures.{sname}.fragments.{f.name}.reference")
                if ref.formula != mol.subset(f.atoms, f.charge, f.multiplicity).formula or \
                        ref.charge != f.charge:
                    raise ctx.error(
                        f"reference {ref_name!r} ({ref.formula}, charge {ref.charge:+d}) is not the "
                        f"fragment ({mol.subset(f.atoms, 0, 1).formula}, charge {f.charge:+d})",
                        fmap, "reference", f"structures.{sname}.fragments.{f.name}.reference")
            resolved.append(Fragment(f.name, f.atoms, f.charge, f.multiplicity, ref))
        out[sname] = (mol, resolved)
    return out


def load_fragments(ctx: Context, entry: YamlMap, mol: Molecule, path: str, base: Path) -> list:
    seq = entry["fragments"]
    if not isinstance(seq, YamlSeq) or len(seq) < 2:
        raise ctx.error("fragments must be a list of at least two fragments", entry, "fragments",
                        f"{path}.fragments")
    owner: dict[int, str] = {}
    frags = []
    for i, fmap in enumerate(seq):
        fpath = f"{path}.fragments[{i}]"
        fmap = require_map(ctx, fmap, seq, i, fpath)
        check_keys(ctx, fmap, {"name", "atoms", "file", "charge", "multiplicity", "reference"},
                    fpath)
        fname = str(fmap.get("name", f"fragment{i + 1}"))
        charge = get_int(ctx, fmap, "charge", fpath, 0)
        mult = get_int(ctx, fmap, "multiplicity", fpath, 1)
        if ("atoms" in fmap) == ("file" in fmap):
            raise ctx.error("give exactly one of atoms: or file:", seq, i, fpath)
        if "atoms" in fmap:
            try:
                atoms = parse_indices(fmap["atoms"])
            except ValueError as exc:
                raise ctx.error(str(exc), fmap, "atoms", f"{fpath}.atoms") from None
        else:
            try:
                fmol = read_structure(base / str(fmap["file"]), charge, mult)
            except InputError as exc:
                raise ctx.error(str(exc), fmap, "file", f"{fpath}.file") from None
            atoms = match_atoms(ctx, mol, fmol, fmap, f"{fpath}.file")
        for a in atoms:
            if not 0 <= a < mol.natoms:
                raise ctx.error(f"atom index {a} out of range: {mol.name} has {mol.natoms} atoms "
                                f"(0-based, 0..{mol.natoms - 1})", fmap, "atoms", f"{fpath}.atoms")
            if a in owner:
                raise ctx.error(f"atom {a} is in both {owner[a]!r} and {fname!r}", fmap, "atoms",
                                f"{fpath}.atoms")
            owner[a] = fname
        ref = fmap.get("reference")
        frags.append((Fragment(fname, tuple(atoms), charge, mult),
                      (fmap, None if ref is None else str(ref))))
    missing = sorted(set(range(mol.natoms)) - set(owner))
    if missing:
        raise ctx.error(f"fragments do not partition {mol.name}: atoms {missing} belong to no "
                        "fragment", entry, "fragments", f"{path}.fragments")
    total = sum(f.charge for f, _ in frags)
    if total != mol.charge:
        raise ctx.error(f"fragment charges add up to {total:+d}, the structure's charge is "
                        f"{mol.charge:+d}", entry, "fragments", f"{path}.fragments")
    for i, (f, (fmap, _ref)) in enumerate(frags):
        try:
            check_spin(mol.subset(f.atoms, f.charge, f.multiplicity).nelectrons, f.charge,
                       f.multiplicity, f.name)
        except InputError as exc:
            raise ctx.error(f"fragment {f.name!r}: {exc.message}", seq, i,
                            f"{path}.fragments[{i}]") from None
    try:
        check_spin_coupling(mol.multiplicity, [f.multiplicity for f, _ in frags], mol.name)
    except InputError as exc:
        raise ctx.error(exc.message, entry, "fragments", f"{path}.fragments") from None
    return frags


def match_atoms(ctx: Context, mol: Molecule, frag: Molecule, fmap: YamlMap, path: str) -> list[int]:
    """Indices of ``mol``'s atoms that coincide (same element, < 0.01 Å) with ``frag``'s."""
    pos = np.asarray(mol.positions)
    out = []
    for s, p in zip(frag.symbols, frag.positions):
        d = np.linalg.norm(pos - np.asarray(p), axis=1)
        j = int(np.argmin(d))
        if d[j] > 0.01 or mol.symbols[j] != s:
            raise ctx.error(f"fragment atom {s} at {p} is not an atom of {mol.name}", fmap, "file",
                            path)
        out.append(j)
    return out


def structure_ref(ctx: Context, name: str, structures: dict, node: YamlMap, key: str,
                  path: str) -> Molecule:
    """A campaign structure, else a library species, by name."""
    if name in structures:
        return structures[name][0]
    try:
        return get_species(name).molecule()
    except InputError:
        known = ", ".join(list(structures)) or "none"
        raise ctx.error(f"unknown structure {name!r}: not in structures: ({known}) nor in the "
                        "species library", node, key, path) from None


def load_shell(ctx: Context, entry: YamlMap, sname: str, path: str, known: Structures,
               resolver: Resolver) -> tuple[Molecule, tuple[Part, ...]]:
    """``shell: {ion: Li+, ligands: [EC, EC, EC, DEC], candidates: 6, seed: 7}``: a solvation
    shell built around the ion (:func:`screening.complexes.shell`), each ligand a species or an
    earlier structure. With ``host:`` and ``donors:`` (donor-atom sites of the host, one per
    host atom that binds the ion, e.g. ``[carbonyl_O, carbonyl_O]``), the shell sits on the host
    (:func:`screening.complexes.host_shell`); the host's atoms come first."""
    shell = require_map(ctx, entry["shell"], entry, "shell", f"{path}.shell")
    check_keys(ctx, shell, {"ion", "ligands", "candidates", "seed", "host", "donors"},
               f"{path}.shell")
    if "ion" not in shell or "ligands" not in shell:
        raise ctx.error("a shell needs ion: and ligands:", entry, "shell", f"{path}.shell")
    ion = structure_ref(ctx, str(shell["ion"]), known, shell, "ion", f"{path}.shell.ion")
    ligands_raw = shell["ligands"]
    if not isinstance(ligands_raw, list) or not ligands_raw:
        raise ctx.error("ligands must be a non-empty list of species or structures", shell,
                        "ligands", f"{path}.shell.ligands")
    ligands = [structure_ref(ctx, str(x), known, shell, "ligands", f"{path}.shell.ligands")
               for x in ligands_raw]
    candidates = get_int(ctx, shell, "candidates", f"{path}.shell", 6)
    seed = get_int(ctx, shell, "seed", f"{path}.shell", 7)
    if candidates < 1 or seed < 0:
        raise ctx.error("candidates must be >= 1 and seed >= 0", shell, "candidates",
                        f"{path}.shell.candidates")
    host, donors = None, []
    if ("host" in shell) != ("donors" in shell):
        raise ctx.error("a shell on a host needs both host: and donors:", shell,
                        "host" if "host" in shell else "donors", f"{path}.shell")
    if "host" in shell:
        _, _, host = parse_host(ctx, shell, shell["host"], f"{path}.shell", resolver)
        donors = shell["donors"] if isinstance(shell["donors"], list) else [shell["donors"]]
        for d in donors:
            site = host.sites.get(str(d))
            if site is None or site.kind != "atom":
                atom_sites = sorted(n for n, s in host.sites.items() if s.kind == "atom")
                raise ctx.error(f"{d!r} is no donor-atom site of {host.name}; its donor sites: "
                                f"{', '.join(atom_sites)}", shell, "donors",
                                f"{path}.shell.donors")
    try:
        return resolver.shell(ion, ligands, candidates, seed, sname, host,
                              [str(d) for d in donors])
    except InputError as exc:
        key = exc.field if exc.field in ("ligands", "donors") else "ion"
        raise ctx.error(exc.message, shell, key, f"{path}.shell.{key}") from None


def check_balance(ctx: Context, terms: list[tuple[float, Molecule]], node: YamlMap, key: str,
                  path: str) -> None:
    """Refuse a reaction whose atoms or charge do not balance."""
    count: Counter = Counter()
    charge = 0.0
    for coef, mol in terms:
        for i in mol.real_atoms:
            count[mol.symbols[i]] += coef
        charge += coef * mol.charge
    bad = {k: v for k, v in count.items() if abs(v) > 1e-9}
    if bad or abs(charge) > 1e-9:
        raise ctx.error(f"reaction does not balance (atoms left over: {bad}, charge {charge:+g})",
                        node, key, f"{path}.{key}")


# --- quantities --------------------------------------------------------------------------------

@dataclass
class Entry:
    """One item of ``quantities:`` while it is read: its mapping, where it is, and what every
    kind shares (name, kind, description, counterpoise)."""

    ctx: Context
    q: YamlMap
    seq: YamlSeq
    index: int
    name: str
    kind: str
    description: str
    counterpoise: bool
    structures: Structures
    resolver: Resolver
    parts: dict[str, tuple[Part, ...]]

    @property
    def path(self) -> str:
        return f"quantities[{self.index}]"

    def error(self, msg: str, key: str | None = None, field: str | None = None) -> InputError:
        """An error at ``key`` of this quantity (the item itself when ``key`` is absent)."""
        if key is not None and key in self.q:
            return self.ctx.error(msg, self.q, key, f"{self.path}.{field or key}")
        return self.ctx.error(msg, self.seq, self.index,
                              f"{self.path}.{field or key}" if (field or key) else self.path)

    def structure(self, key: str, name: str | None = None) -> Molecule:
        """The structure named at ``key`` (or ``name``): a campaign structure or a species."""
        return structure_ref(self.ctx, str(self.q[key] if name is None else name),
                             self.structures, self.q, key, f"{self.path}.{key}")

    def flag(self, key: str, default: bool) -> bool:
        return get_flag(self.ctx, self.q, key, f"{self.path}.{key}", default)


HOP_KEYS = frozenset({"path_type", "from", "to", "active_radius", "carve", "prerelax"})
PLACEMENT_KEYS = frozenset({"host", "guest", "guests", "split", "sites", "poses", "keep",
                            "seed", "relax", "screen_fmax", "optimizer", "prerelax",
                            "screen"})
SALT_KEYS = frozenset({"host", "salt", "separation", "sites", "contact_sites", "poses", "seed"})
COMMON_KEYS = frozenset({"name", "kind", "description", "paper", "tiers"})
HOST_OPTIONS = {"cluster": str, "nodes": int, "centre": str, "multiplicity": int, "units": int,
                "hfp_units": int, "silicons": int, "relax": bool, "seed": int}
"""Builder options a campaign may give a library host, with their types."""


def load_binding(e: Entry) -> Quantity:
    """binding / adsorption / desolvation of a ``complex:`` with fragments; binding and
    adsorption with ``host:`` and ``guest:`` place the guest instead."""
    if "host" in e.q:
        if e.kind == "desolvation":
            raise e.error("desolvation needs complex: (placing a guest is binding)", "host")
        return load_placement(e)
    cname = e.q.get("complex")
    if cname is None:
        raise e.error(f"{e.kind} needs complex: (or host: and guest: to place a guest)",
                      field="complex")
    cx = e.structure("complex")
    frags = e.structures.get(str(cname), (None, []))[1]
    if not frags:
        raise e.error(f"structure {cname!r} has no fragments: define them under "
                      f"structures.{cname}.fragments", "complex")
    cls = Desolvation if e.kind == "desolvation" else Binding
    return cls(e.name, cx, tuple(frags), e.counterpoise, e.description, e.kind)


def load_host(e: Entry, raw: object, defaults: dict | None = None):
    """``host:`` of a quantity (see :func:`parse_host`)."""
    return parse_host(e.ctx, e.q, raw, e.path, e.resolver, defaults)


def parse_host(ctx: Context, node: YamlMap, raw: object, path: str, resolver: Resolver,
               defaults: dict | None = None):
    """``host:`` of ``node`` (a library name, or {name:, builder options}) → (name, options,
    Host). ``defaults`` are builder options taken when ``raw`` names the host without options."""
    if isinstance(raw, YamlMap) and "file" in raw:
        return host_file(ctx, raw, path, resolver)
    if isinstance(raw, YamlMap):
        check_keys(ctx, raw, {"name", *HOST_OPTIONS}, f"{path}.host")
        for k, v in raw.items():
            want = HOST_OPTIONS.get(k)
            problem = want and wrong_kind(v, want)
            if problem:
                raise ctx.error(problem, raw, k, f"{path}.host.{k}")
        opts = {k: v for k, v in raw.items() if k != "name"}
        hname = str(raw.get("name"))
    else:
        opts, hname = dict(defaults or {}), str(raw)
    try:
        return hname, opts, resolver.host(hname, opts)
    except InputError as exc:
        raise ctx.error(exc.message, node, "host", f"{path}.host") from None


def host_file(ctx: Context, raw: YamlMap, path: str, resolver: Resolver):
    """``host: {file: my_cage.xyz, charge: 0, multiplicity: 1, name: my-cage, frozen: false}``,
    the file relative to the campaign file → (name, options, Host). A cif also takes
    ``nodes:``, ``centre: [x, y, z]`` (fractional) and ``cap:`` (how it is carved)."""
    check_keys(ctx, raw, {"file", "charge", "multiplicity", "name", "frozen", "nodes", "centre",
                          "cap"}, f"{path}.host")
    file = (Path(ctx.source).parent / str(raw["file"])).resolve()
    opts: dict = {"file": str(file)}
    for k in ("charge", "multiplicity", "nodes"):
        if k in raw:
            opts[k] = get_int(ctx, raw, k, f"{path}.host")
    if "cap" in raw:
        opts["cap"] = str(raw["cap"])
    if "centre" in raw:
        centre = raw["centre"]
        if not (isinstance(centre, list) and len(centre) == 3
                and not any(wrong_kind(x, float) for x in centre)):
            raise ctx.error("must be three fractional coordinates, e.g. [0.25, 0, 0]", raw,
                            "centre", f"{path}.host.centre")
        opts["centre"] = [float(x) for x in centre]
    if "frozen" in raw:
        opts["frozen"] = get_flag(ctx, raw, "frozen", f"{path}.host.frozen")
    hname = str(raw.get("name", file.stem))
    if not NAME_RE.match(hname):
        raise ctx.error("host names use letters, digits and + - _ . ( )", raw, "name",
                        f"{path}.host.name")
    try:
        return hname, opts, resolver.host(hname, opts)
    except InputError as exc:
        where = f"host.{exc.field}" if exc.field in ("charge", "multiplicity", "nodes",
                                                      "centre", "cap") else "host.file"
        raise ctx.error(str(exc) if exc.source == str(file) else exc.message, raw,
                        where.split(".")[-1], f"{path}.{where}") from None


def load_placement(e: Entry) -> Placement:
    """host (library name or {name:, options...}), guest, sites, poses, keep, seed, relax.

    The host is resolved and one rigid pose per site sampled here, so an unknown host or site,
    or a guest that fits nowhere, is refused before anything is queued; the guest's GFN2-xTB
    reference is made only once it fits.
    """
    from ..placement import sample_poses

    q = e.q
    hname, opts, host = load_host(e, q["host"])
    if ("guest" in q) == ("guests" in q):
        raise e.error("placing needs guest: (a species or structure) or guests: (a list of "
                      "them, placed together), not both", "guests" if "guests" in q else "host",
                      field="guest")
    guest, parts, label = load_guests(e)
    sites = site_names(e, host, q.get("sites", ["endo"] if "endo" in host.sites else ["exo"]))
    counts = search_counts(e, 8, 3, len(sites))
    relax = e.flag("relax", True)
    screen_fmax = load_screen_fmax(e)
    optimizer = load_optimizer(e)
    split = tuple(load_split(e, parts))
    try:
        combined_charge_multiplicity(host.molecule, guest, f"{host.name} + {guest.name}")
        sample_poses(host, guest, sites, 1, counts["seed"])
    except InputError as exc:
        raise e.error(exc.message, "guests" if "guests" in q else "guest") from None
    prerelax = load_force_field(e, "prerelax", relax, host.molecule, guest, parts)
    screen = load_force_field(e, "screen", relax, host.molecule, guest, parts)
    problem = screen_conflict(screen, screen_fmax, prerelax)
    if problem:
        raise e.error(problem, "screen")
    # only once the guest fits: poses are GFN2-xTB geometries, so is the guest's reference
    if relax:
        guest = e.resolver.guest_reference(guest, label)
    spec = PlacementSpec(hname, tuple(sorted(opts.items())), guest, tuple(sites),
                         counts["poses"], counts["keep"], counts["seed"], relax,
                         host_molecule=host.molecule, guest_parts=parts,
                         screen_fmax=screen_fmax, optimizer=optimizer, prerelax=prerelax,
                         screen=screen)
    return Placement(e.name, spec, e.counterpoise, e.description, e.kind, split)


def load_optimizer(e: Entry) -> str:
    """``optimizer:`` of the poses' GFN2-xTB relaxations: ``bfgs`` (default) or ``tric``."""
    from ..specs import DEFAULT_OPTIMIZER, unknown_optimizer

    v = e.q.get("optimizer", DEFAULT_OPTIMIZER)
    problem = unknown_optimizer(v)
    if problem:
        raise e.error(problem, "optimizer")
    return v


def load_force_field(e: Entry, key: str, relax: bool, host: Molecule, guest: Molecule,
                     parts: tuple[Part, ...]) -> str | None:
    """A force field (``gfn-ff``) under ``key``: ``prerelax:`` relaxes every candidate pose
    before GFN2-xTB does; ``screen:`` is the funnel's first stage (every candidate relaxed with
    it and scored by a GFN2-xTB single point, the best 2 × keep relaxed with GFN2-xTB); absent:
    none. Refused without relaxation, where its package cannot be imported here, or where it
    cannot hold the complex's charges."""
    from ..engines.gfnff import charge_problem, prerelax_problem

    if key not in e.q:
        return None
    v = e.q[key]
    problem = prerelax_problem(v) or (
        None if relax else f"{key} needs relaxed poses; it does nothing with relax: false"
    ) or charge_problem(host, guest, parts)
    if problem:
        raise e.error(problem, key)
    return v


def load_screen_fmax(e: Entry) -> float | None:
    """``screen_fmax:`` (eV/Å): the funnel's first, looser GFN2-xTB threshold; it must lie
    above the ranking threshold ``RANK_FMAX``. Absent: every pose relaxed to ``RANK_FMAX``."""
    from ..placement import RANK_FMAX

    if "screen_fmax" not in e.q:
        return None
    v = get_positive(e.ctx, e.q, "screen_fmax", e.path, RANK_FMAX)
    if v <= RANK_FMAX:
        raise e.error(f"screen_fmax must be looser (larger) than the ranking threshold "
                      f"{RANK_FMAX} eV/Å, got {v:g}", "screen_fmax", field="screen_fmax")
    return v


def load_guests(e: Entry) -> tuple[Molecule, tuple[Part, ...], str]:
    """The placed guest: ``guest:`` (its parts if it is a built shell) or ``guests:`` (a list,
    made into one cluster, :func:`screening.complexes.guest_cluster`); and its label."""
    from ..complexes import guest_cluster

    if "guest" in e.q:
        name = str(e.q["guest"])
        return e.structure("guest"), e.parts.get(name, ()), name
    raw = e.q["guests"]
    if not isinstance(raw, list) or len(raw) < 2:
        raise e.error("guests must be a list of two or more species or structures", "guests")
    members = [e.structure("guests", str(x)) for x in raw]
    seed = get_int(e.ctx, e.q, "seed", e.path, 7)
    try:
        cluster, parts = guest_cluster(members, seed)
    except InputError as exc:
        raise e.error(exc.message, "guests") from None
    label = "+".join(str(x) for x in raw)
    return Molecule(cluster.symbols, cluster.positions, cluster.charge, cluster.multiplicity,
                    name=label), parts, label


def load_split(e: Entry, guest_parts: tuple[Part, ...]) -> list[str]:
    """``split:`` the roles or species names of one fragment (e.g. ``[Li+]``: the ion against
    everything else); each must name a part of the complex (host, ion, counter-ion, solvent,
    guest, or a species name)."""
    if "split" not in e.q:
        return []
    raw = e.q["split"]
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(x, str) for x in names):
        raise e.error("split must be a role or species name, or a list of them", "split")
    known = {"host", "rest"} | {p.role for p in guest_parts} | {p.name for p in guest_parts}
    if not guest_parts:
        known |= {"guest"}
    for n in names:
        if n not in known:
            raise e.error(f"split names {n!r}, which is no part of the complex; its parts: "
                          f"{', '.join(sorted(known - {'rest'}))}", "split")
    return names


def site_names(e: Entry, host, raw: object, key: str = "sites") -> list[str]:
    """A site name or a list of them, each a site of ``host``."""
    sites = [raw] if isinstance(raw, str) else raw
    if not isinstance(sites, list) or not sites or not all(isinstance(x, str) for x in sites):
        raise e.error(f"{key} must be a site name or a list of them", key)
    for name in sites:
        if name not in host.sites:
            raise e.error(f"host {host.name} has no site {name!r}; its sites: "
                          f"{', '.join(sorted(host.sites))}", key)
    return sites


MAX_POSES = 500
"""Candidate poses per site a placement may ask for (each is a GFN2-xTB relaxation)."""
MAX_KEEP = 20
"""Poses a placement may keep for DFT (each adds its complex and fragment calculations)."""
MAX_IMAGES = 50
"""Images a path may have."""


def search_counts(e: Entry, poses: int, keep: int, sites: int = 1) -> dict[str, int]:
    """``poses:`` (candidates per site, at most ``MAX_POSES``), ``keep:`` (best kept over the
    ``sites`` site names, at most ``MAX_KEEP`` and the ``poses × sites`` made), ``seed:``."""
    counts = {}
    for k, default in (("poses", poses), ("keep", keep), ("seed", 7)):
        counts[k] = get_int(e.ctx, e.q, k, e.path, default)
        if counts[k] < (0 if k == "seed" else 1):
            raise e.error(f"{k} must be >= 1", k)
    for k, most in (("poses", MAX_POSES), ("keep", MAX_KEEP)):
        if counts[k] > most:
            raise e.error(f"{k}: {counts[k]} is more than the {most} a placement may have "
                          f"(each is a GFN2-xTB relaxation or a set of DFT calculations); "
                          "split the search into several quantities with other seeds", k)
    made = counts["poses"] * sites
    if "keep" not in e.q:  # the default never asks for more than are made
        counts["keep"] = min(counts["keep"], made)
    elif counts["keep"] > made:
        raise e.error(f"keep: {counts['keep']} is more than the {made} candidate poses made "
                      f"(poses: {counts['poses']} per site × {sites} site(s)); keep at most "
                      "as many as are made", "keep")
    return counts


def load_dissociation(e: Entry) -> Dissociation:
    """``paired:`` (or ``complex:``) and ``separated:`` (one structure) or ``products:``."""
    q = e.q
    if "host" in q or "salt" in q:
        return load_salt_on_host(e)
    for k in sorted(SALT_KEYS & set(q)):
        raise e.error(f"{k}: belongs to a salt on a host (host: and salt:)", k)
    key_paired = "paired" if "paired" in q else "complex"
    if key_paired not in q:
        raise e.error("dissociation needs paired: (the ion pair)", field="paired")
    pmol = structure_ref(e.ctx, str(q[key_paired]), e.structures, q, key_paired,
                         f"{e.path}.paired")
    if ("separated" in q) == ("products" in q):
        raise e.error("give exactly one of separated: (one structure) or products: (a list)")
    key = "separated" if "separated" in q else "products"
    names = q[key] if key == "products" else [q[key]]
    if not isinstance(names, list) or not names:
        raise e.error("products must be a non-empty list of structures", key)
    prods = tuple(e.structure(key, str(n)) for n in names)
    check_balance(e.ctx, [(-1.0, pmol)] + [(1.0, p) for p in prods], q, key, e.path)
    return Dissociation(e.name, pmol, prods, e.description, e.kind)


def load_salt_on_host(e: Entry) -> IonPairDissociation:
    """``host:``, ``salt: [Li+, TFSI-]``, ``separation:`` (Å, default 6), ``sites:`` (donor
    sites for the cation; default every donor-atom site), ``contact_sites:`` (where the contact
    pair goes; default exo), ``poses:``, ``keep:``, ``seed:``: E(separated) − E(contact pair)
    on the same host (seed 003)."""
    from ..complexes import guest_cluster, is_ion
    from ..placement import sample_poses

    q = e.q
    if "host" not in q or "salt" not in q:
        raise e.error("a salt on a host needs host: and salt: (e.g. [Li+, TFSI-])",
                      "host" if "host" not in q else "salt", field="host")
    for k in ("paired", "complex", "separated", "products"):
        if k in q:
            raise e.error(f"give either {k}: or a salt on a host (host:, salt:), not both", k)
    raw = q["salt"]
    if not isinstance(raw, list) or len(raw) != 2:
        raise e.error("salt must be a list of two species: the cation and the anion", "salt")
    cation, anion = (e.structure("salt", str(x)) for x in raw)
    if not is_ion(cation):
        raise e.error(f"the salt's first species {raw[0]!r} must be a single-atom cation", "salt")
    if cation.charge + anion.charge != 0:
        raise e.error(f"salt {'+'.join(map(str, raw))} is not charge-neutral (charges "
                      f"{cation.charge:+d} and {anion.charge:+d})", "salt")
    hname, opts, host = load_host(e, q["host"])
    donors = sorted(n for n, s in host.sites.items() if s.kind == "atom")
    sites = site_names(e, host, q.get("sites", donors))
    for name in sites:
        if host.sites[name].kind != "atom":
            raise e.error(f"site {name!r} of {host.name} is no donor-atom site; the cation's "
                          f"sites: {', '.join(donors)}", "sites")
    contact_sites = site_names(e, host, q.get("contact_sites", ["exo"]), "contact_sites")
    separation = get_positive(e.ctx, q, "separation", e.path, 6.0)
    counts = search_counts(e, 4, 1)  # the best state of each is kept
    try:
        pair, parts = guest_cluster([cation, anion], counts["seed"])
        sample_poses(host, pair, contact_sites, 1, counts["seed"])
    except InputError as exc:
        raise e.error(exc.message, "salt") from None
    label = "+".join(str(x) for x in raw)
    pair = e.resolver.guest_reference(Molecule(pair.symbols, pair.positions, pair.charge,
                                               pair.multiplicity, name=label), label)
    options = tuple(sorted(opts.items()))
    common = dict(host_molecule=host.molecule, guest_parts=parts)
    contact = PlacementSpec(hname, options, pair, tuple(contact_sites), counts["poses"], 1,
                            counts["seed"], True, mode="contact", **common)
    separated = PlacementSpec(hname, options, pair, tuple(sites), counts["poses"], 1,
                              counts["seed"], True, mode="separated", separation=separation,
                              **common)
    return IonPairDissociation(e.name, contact, separated, e.description, e.kind)


def load_reaction(e: Entry) -> ReactionQuantity:
    """``terms:`` a list of {structure:, coefficient:}."""
    terms_raw = e.q.get("terms")
    if not isinstance(terms_raw, YamlSeq) or not terms_raw:
        raise e.error("reaction needs terms: a list of {structure:, coefficient:}", "terms")
    terms = []
    for j, t in enumerate(terms_raw):
        tpath = f"{e.path}.terms[{j}]"
        t = require_map(e.ctx, t, terms_raw, j, tpath)
        check_keys(e.ctx, t, {"structure", "coefficient"}, tpath)
        coef = t.get("coefficient")
        if wrong_kind(coef, float):
            raise e.ctx.error("coefficient must be a number", t, "coefficient",
                              f"{tpath}.coefficient")
        mol = structure_ref(e.ctx, str(t.get("structure")), e.structures, t, "structure",
                            f"{tpath}.structure")
        terms.append(Term(float(coef), mol, str(t.get("structure"))))
    check_balance(e.ctx, [(t.coefficient, t.molecule) for t in terms], e.q, "terms", e.path)
    return ReactionQuantity(e.name, tuple(terms), e.description, e.kind)


def load_barrier(e: Entry) -> Barrier:
    """A barrier's path: endpoints (two structures, or a hop between two sites of a host),
    images, fixed atoms, mode and convergence settings."""
    from ..neb import MODES, check_endpoints

    q, ctx, path = e.q, e.ctx, e.path
    hop = "host" in q or "path_type" in q
    if hop:
        for k in ("initial", "final"):
            if k in q:
                raise e.error("give either initial:/final: or a hop (host:, path_type:, from:,"
                              " to:), not both", k)
        initial, final, fixed, mobile, origin = load_hop(e)
    else:
        for k in ("from", "to", "guest", "active_radius", "carve"):
            if k in q:
                raise e.error(f"{k}: belongs to a hop between two sites of a host; give host:"
                              " or path_type:", k)
        ends = []
        for end in ("initial", "final"):
            if end not in q:
                raise ctx.error(f"barrier needs {end}: (a structure), or host:/path_type: and "
                                "from:/to: (a hop between two sites)", q, None, f"{path}.{end}")
            ends.append(e.structure(end))
        (initial, final), fixed, mobile, origin = ends, (), (), ""
    images = get_int(ctx, q, "images", path, 5)
    max_steps = get_int(ctx, q, "max_steps", path, 200)
    if images < 1 or max_steps < 1:
        raise e.error("images and max_steps must be >= 1", "images")
    if images > MAX_IMAGES:
        raise e.error(f"images: {images} is more than the {MAX_IMAGES} a path may have", "images")
    if "fixed" in q:
        if "carve" in q:
            raise e.error("fixed: and carve: together: a carved hop fixes its own H caps and "
                          "what lies beyond active_radius; give active_radius: instead", "fixed")
        try:
            fixed = tuple(parse_indices(q["fixed"]))
        except ValueError as exc:
            raise e.error(str(exc), "fixed") from None
    if any(not 0 <= i < initial.natoms for i in fixed):
        raise e.error(f"fixed atom index out of range 0..{initial.natoms - 1}", "fixed")
    try:
        check_endpoints(initial, final, fixed=fixed)
    except InputError as exc:
        raise e.error(exc.message, exc.field or "final") from None
    mode = q.get("mode", "dft")
    if mode not in MODES:
        raise e.error(f"mode must be one of {', '.join(MODES)}, got {mode!r}", "mode")
    numbers = {k: get_positive(ctx, q, k, path, default) for k, default in (("fmax", 0.05),
                                                                            ("spring", 0.1))}
    flags = {k: e.flag(k, default) for k, default in (("relax_endpoints", hop and mode == "dft"),
                                                      ("prerelax", hop))}
    spec = PathSpec(e.name, initial, final, images, fixed, numbers["fmax"], max_steps, mode,
                    numbers["spring"], flags["relax_endpoints"], flags["prerelax"], mobile,
                    origin)
    return Barrier(e.name, spec, e.description, e.kind)


def load_hop(e: Entry) -> tuple[Molecule, Molecule, tuple[int, ...], tuple[int, ...], str]:
    """A hop's unrelaxed endpoints from ``path_type:`` and/or ``host:``, ``guest:`` (default
    Li+), ``from:``/``to:`` (``site`` or ``site:index``), ``active_radius:`` (Å) and
    ``carve:`` (Å; the cluster of atoms within it of the ion, capped with H)."""
    from ..hops import carve_hop, hop_endpoints, parse_anchor, path_type

    q = e.q
    ptype = None
    if "path_type" in q:
        try:
            ptype = path_type(str(q["path_type"]))
        except InputError as exc:
            raise e.error(exc.message, "path_type") from None
    raw_host = q.get("host", ptype.host if ptype else None)
    _, _, host = load_host(e, raw_host,
                           ptype.host_options if ptype and "host" not in q else None)
    anchors = []
    for k in ("from", "to"):
        text = q.get(k, getattr(ptype, f"{k}_site") if ptype else None)
        if text is None:
            raise e.ctx.error(f"a hop needs {k}: (a donor-atom site of {host.name}, optionally "
                              "site:index)", q, None, f"{e.path}.{k}")
        try:
            anchors.append(parse_anchor(str(text)))
        except InputError as exc:
            raise e.error(exc.message, k) from None
    guest = structure_ref(e.ctx, str(q.get("guest", "Li+")), e.structures, q, "guest",
                          f"{e.path}.guest")
    radius = get_positive(e.ctx, q, "active_radius", e.path, 6.0)
    try:
        combined_charge_multiplicity(host.molecule, guest, f"{host.name} + {guest.name}")
        ends = hop_endpoints(host, guest, anchors[0][0], anchors[1][0], anchors[0][1],
                             anchors[1][1], radius, ptype.interfacial if ptype else False)
    except InputError as exc:
        key = exc.field if exc.field in ("from", "to", "guest") else "host"
        raise e.ctx.error(exc.message, q, key if key in q else None,
                          f"{e.path}.{key}") from None
    origin = (f"{guest.name or guest.formula} on {host.name}: "
              f"{ends.anchors[0]} → {ends.anchors[1]}")
    if "carve" in q:
        carve = get_positive(e.ctx, q, "carve", e.path, 0.0)
        whole = ends.initial.natoms
        try:
            ends = carve_hop(ends, carve, radius)
        except InputError as exc:
            raise e.error(exc.message, "carve") from None
        origin += (f", carved at {carve:g} Å to {ends.initial.natoms} of {whole} atoms"
                   if ends.initial.natoms < whole else f", carve {carve:g} Å keeps every atom")
    return ends.initial, ends.final, ends.fixed, ends.mobile, origin


@dataclass(frozen=True)
class QuantitySchema:
    """The keys one kind takes (besides name, kind, description) and its loader."""

    keys: frozenset[str]
    load: Callable[[Entry], Quantity]


QUANTITY_SCHEMAS: dict[str, QuantitySchema] = {
    "binding": QuantitySchema(frozenset({"complex", "counterpoise"}) | PLACEMENT_KEYS,
                              load_binding),
    "adsorption": QuantitySchema(frozenset({"complex", "counterpoise"}) | PLACEMENT_KEYS,
                                 load_binding),
    "desolvation": QuantitySchema(frozenset({"complex", "counterpoise"}), load_binding),
    "dissociation": QuantitySchema(frozenset({"paired", "complex", "separated", "products"})
                                   | SALT_KEYS, load_dissociation),
    "reaction": QuantitySchema(frozenset({"terms"}), load_reaction),
    "barrier": QuantitySchema(frozenset({"initial", "final", "images", "fixed", "mode", "fmax",
                                         "max_steps", "spring", "relax_endpoints", "host",
                                         "guest"}) | HOP_KEYS, load_barrier),
}
assert set(QUANTITY_SCHEMAS) == set(KINDS)


def load_quantities(ctx: Context, raw: YamlMap, structures: Structures, counterpoise: bool,
                    resolver: Resolver, parts: dict[str, tuple[Part, ...]] | None = None,
                    tiers: dict[str, Tier] | None = None, tier: str | None = None,
                    notes: Annotations | None = None) -> list[Quantity]:
    """The ``quantities:`` list, each item checked against its kind's schema. Every item is
    checked; those whose ``tiers:`` leave out ``tier`` are not returned but listed in
    ``notes.elsewhere``, and ``paper:`` values go to ``notes.papers``."""
    seq = raw.get("quantities")
    if not isinstance(seq, YamlSeq) or not seq:
        raise ctx.error("quantities must be a non-empty list", raw, "quantities", "quantities")
    notes = Annotations() if notes is None else notes
    every_key = COMMON_KEYS.union(*(s.keys for s in QUANTITY_SCHEMAS.values()))
    out, names = [], set()
    for i, q in enumerate(seq):
        path = f"quantities[{i}]"
        q = require_map(ctx, q, seq, i, path)
        check_keys(ctx, q, set(every_key), path)
        kind = q.get("kind")
        if kind not in QUANTITY_SCHEMAS:
            raise ctx.error(f"kind must be one of {', '.join(KINDS)}, got {kind!r}", q, "kind",
                            f"{path}.kind")
        qname = str(q.get("name", f"{kind} {i + 1}"))
        if qname in names:
            raise ctx.error(f"duplicate quantity name {qname!r}", q, "name", f"{path}.name")
        names.add(qname)
        schema = QUANTITY_SCHEMAS[kind]
        for k in sorted(set(q) - COMMON_KEYS - schema.keys):
            if k in HOP_KEYS:
                raise ctx.error(f"{k}: belongs to kind: barrier", q, k, f"{path}.{k}")
            raise ctx.error(f"{k}: does not apply to kind: {kind} (its keys: "
                            f"{', '.join(sorted(schema.keys))})", q, k, f"{path}.{k}")
        cp = get_flag(ctx, q, "counterpoise", f"{path}.counterpoise", counterpoise)
        paper = load_paper(ctx, q, path)
        if paper is not None:
            notes.papers[qname] = paper
        at = quantity_tiers(ctx, q, path, tiers or {})
        entry = Entry(ctx, q, seq, i, qname, kind, str(q.get("description", "")), cp,
                      structures, resolver, parts or {})
        quantity = schema.load(entry)
        if at is not None and tier is not None and tier not in at:
            notes.elsewhere[qname] = at
            continue
        out.append(quantity)
    notes.orderings = load_orderings(ctx, raw, names)
    return out
