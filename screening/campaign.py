"""Campaign files (YAML) → validated structures, quantities and the set of calculations.

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
    structures:                      # named structures; library species are known by name
      Li+PC:
        file: ../structures/complexes/Li_PC.xyz   # xyz/cif/..., relative to this file
        charge: 1
        multiplicity: 1
        fragments:                   # 0-based atom indices (ASE order); "a-b" ranges inclusive
          - {name: Li+, atoms: [0], charge: 1, reference: Li+}
          - {name: PC, atoms: "1-13", reference: PC}    # or file: fragment.xyz
    quantities:
      - {name: Li+ binding to PC, kind: binding, complex: Li+PC}
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
         guest: TFSI-, sites: [endo, window], poses: 8, keep: 3, seed: 7, relax: true}
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .errors import InputError
from .geometry import Molecule, check_spin, combined_charge_multiplicity, read_structure
from .methods import Method, get_method
from .neb import MODES, PathSpec, check_endpoints
from .placement import PlacementSpec
from .quantities import KINDS, Fragment, Quantity, Term, quantity_from_dict, quantity_to_dict
from .species import get_species

NAME_RE = re.compile(r"^[A-Za-z0-9_.+\-()]+$")


class _Map(dict):
    line: int = 0
    lines: dict


class _Seq(list):
    line: int = 0
    lines: list


class _Loader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping value and sequence item."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    out = _Map()
    out.line, out.lines = node.start_mark.line + 1, {}
    loader.flatten_mapping(node)
    for k_node, v_node in node.value:
        key = loader.construct_object(k_node, deep=True)
        if key in out:
            raise InputError(f"duplicate key {key!r}", None, k_node.start_mark.line + 1)
        out[key] = loader.construct_object(v_node, deep=True)
        out.lines[key] = v_node.start_mark.line + 1
    return out


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    out = _Seq(loader.construct_object(c, deep=True) for c in node.value)
    out.line, out.lines = node.start_mark.line + 1, [c.start_mark.line + 1 for c in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


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

    def calculations(self) -> list[tuple[Molecule, dict]]:
        """Distinct molecules to compute, each with its labels (campaign, job), in a stable order."""
        seen: dict[str, tuple[Molecule, dict]] = {}
        for q in self.quantities:
            for mol in q.molecules():
                seen.setdefault(mol.key(), (mol, {"campaign": self.name,
                                                  "job": f"{q.name} :: {mol.name}"}))
        return list(seen.values())

    def to_dict(self) -> dict:
        """JSON-friendly form (the collector Firework carries it)."""
        return {"name": self.name, "method": self.method.to_dict(),
                "quantities": [quantity_to_dict(q) for q in self.quantities],
                "description": self.description, "gpu": self.gpu, "source": self.source}

    @classmethod
    def from_dict(cls, d: dict) -> "Campaign":
        return cls(d["name"], Method(**d["method"]),
                   [quantity_from_dict(q) for q in d["quantities"]],
                   description=d.get("description", ""), gpu=d.get("gpu", False),
                   source=d.get("source", ""))

    def key(self) -> str:
        """Content hash of what the campaign computes (name, method, quantities)."""
        d = self.to_dict()
        payload = json.dumps([d["name"], d["method"], d["quantities"]], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


class _Ctx:
    """Where we are in the file, to build errors."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, msg: str, node: Any = None, key: Any = None, path: str = "") -> InputError:
        line = None
        if isinstance(node, _Map):
            line = node.lines.get(key, node.line) if key is not None else node.line
        elif isinstance(node, _Seq):
            line = node.lines[key] if isinstance(key, int) and key < len(node.lines) else node.line
        return InputError(msg, self.source, line, path or None)


def _require_map(ctx: _Ctx, value: Any, parent: Any, key: Any, path: str) -> _Map:
    if not isinstance(value, _Map):
        raise ctx.error(f"must be a mapping, got {type(value).__name__}", parent, key, path)
    return value


def _check_keys(ctx: _Ctx, m: _Map, allowed: set[str], path: str) -> None:
    for k in m:
        if k not in allowed:
            raise ctx.error(f"unknown key {k!r}; allowed: {', '.join(sorted(allowed))}", m, k,
                            f"{path}.{k}" if path else str(k))


def _int(ctx: _Ctx, m: _Map, key: str, path: str, default: int | None = None) -> int | None:
    v = m.get(key, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise ctx.error(f"must be an integer, got {v!r}", m, key, f"{path}.{key}")
    return v


def parse_indices(spec: Any) -> list[int]:
    """``[0, 1, 2]``, ``"0-4"``, ``"0,2-5"`` or an int → sorted list of 0-based indices."""
    if isinstance(spec, bool):
        raise ValueError("atom indices must be integers")
    if isinstance(spec, int):
        return [spec]
    if isinstance(spec, list):
        out = []
        for x in spec:
            out += parse_indices(x)
        return out
    if isinstance(spec, str):
        out = []
        for part in spec.replace(" ", "").split(","):
            if re.fullmatch(r"\d+", part):
                out.append(int(part))
            elif re.fullmatch(r"\d+-\d+", part):
                a, b = map(int, part.split("-"))
                if b < a:
                    raise ValueError(f"range {part!r} runs backwards")
                out += list(range(a, b + 1))
            else:
                raise ValueError(f"cannot read {part!r} as an index or a range a-b")
        return out
    raise ValueError(f"atom indices must be a list or a string like '0-4', got {spec!r}")


def load_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign file.

    Raises
    ------
    InputError
        with file, line and field of the first problem found.
    """
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise InputError("campaign file not found", src)
    try:
        raw = yaml.load(path.read_text(), Loader=_Loader)
    except InputError as exc:
        raise InputError(exc.message, src, exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(f"malformed YAML: {exc.problem or exc}", src,
                         mark.line + 1 if mark else None) from None
    ctx = _Ctx(src)
    if not isinstance(raw, _Map):
        raise InputError("a campaign file must be a YAML mapping (name:, method:, quantities:)",
                         src, 1)
    _check_keys(ctx, raw, {"name", "description", "method", "counterpoise", "gpu", "structures",
                           "quantities"}, "")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
        raise ctx.error("name is required: letters, digits, '-' or '_'", raw, "name", "name")
    if "method" not in raw:
        raise ctx.error("method is required (a preset such as 'screening', or a mapping)", raw,
                        None, "method")
    try:
        method = get_method(raw["method"], src, "method")
    except InputError as exc:
        raise InputError(exc.message, src, raw.lines["method"], exc.field) from None
    if "counterpoise" in raw:
        if not isinstance(raw["counterpoise"], bool):
            raise ctx.error("must be true or false", raw, "counterpoise", "counterpoise")
        method = method.with_options(counterpoise=raw["counterpoise"])
    gpu = raw.get("gpu", False)
    if not isinstance(gpu, bool):
        raise ctx.error("must be true or false", raw, "gpu", "gpu")
    structures = _load_structures(ctx, raw, path.parent)
    quantities = _load_quantities(ctx, raw, structures, method.counterpoise)
    return Campaign(name, method, quantities, {k: v[0] for k, v in structures.items()},
                    str(raw.get("description", "")), gpu, src)


def _load_structures(ctx: _Ctx, raw: _Map, base: Path) -> dict[str, tuple[Molecule, list]]:
    out: dict[str, tuple[Molecule, list]] = {}
    block = raw.get("structures", _Map())
    block = _require_map(ctx, block, raw, "structures", "structures")
    for sname, entry in block.items():
        path = f"structures.{sname}"
        if not isinstance(sname, str) or not NAME_RE.match(sname):
            raise ctx.error("structure names use letters, digits and + - _ . ( )", block, sname,
                            path)
        entry = _require_map(ctx, entry, block, sname, path)
        _check_keys(ctx, entry, {"file", "species", "charge", "multiplicity", "fragments"}, path)
        if ("file" in entry) == ("species" in entry):
            raise ctx.error("give exactly one of file: or species:", block, sname, path)
        if "species" in entry:
            try:
                mol = get_species(str(entry["species"])).molecule()
            except InputError as exc:
                raise ctx.error(exc.message, entry, "species", f"{path}.species") from None
            mol = Molecule(mol.symbols, mol.positions, mol.charge, mol.multiplicity, name=sname)
        else:
            file = base / str(entry["file"])
            charge = _int(ctx, entry, "charge", path)
            mult = _int(ctx, entry, "multiplicity", path)
            try:
                mol = read_structure(file, charge, mult, name=sname)
            except InputError as exc:
                if exc.source == str(file):  # a problem inside the structure file: name it
                    raise InputError(f"{exc} (structures.{sname}.file, line {entry.lines['file']}"
                                     f" of {ctx.source})") from None
                raise ctx.error(exc.message, entry, "file", f"{path}.file") from None
        frags = _load_fragments(ctx, entry, mol, path, base) if "fragments" in entry else []
        out[sname] = (mol, frags)
    # references are resolved once every structure is known
    for sname, (mol, frags) in out.items():
        resolved = []
        for f, (fmap, ref_name) in frags:
            ref = None
            if ref_name is not None:
                ref = _resolve(ctx, ref_name, out, fmap, "reference",
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


def _load_fragments(ctx: _Ctx, entry: _Map, mol: Molecule, path: str, base: Path) -> list:
    seq = entry["fragments"]
    if not isinstance(seq, _Seq) or len(seq) < 2:
        raise ctx.error("fragments must be a list of at least two fragments", entry, "fragments",
                        f"{path}.fragments")
    owner: dict[int, str] = {}
    frags = []
    for i, fmap in enumerate(seq):
        fpath = f"{path}.fragments[{i}]"
        fmap = _require_map(ctx, fmap, seq, i, fpath)
        _check_keys(ctx, fmap, {"name", "atoms", "file", "charge", "multiplicity", "reference"},
                    fpath)
        fname = str(fmap.get("name", f"fragment{i + 1}"))
        charge = _int(ctx, fmap, "charge", fpath, 0)
        mult = _int(ctx, fmap, "multiplicity", fpath, 1)
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
            atoms = _match_atoms(ctx, mol, fmol, fmap, f"{fpath}.file")
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
    return frags


def _match_atoms(ctx: _Ctx, mol: Molecule, frag: Molecule, fmap: _Map, path: str) -> list[int]:
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


def _resolve(ctx: _Ctx, name: str, structures: dict, node: _Map, key: str, path: str) -> Molecule:
    if name in structures:
        return structures[name][0]
    try:
        return get_species(name).molecule()
    except InputError:
        known = ", ".join(list(structures)) or "none"
        raise ctx.error(f"unknown structure {name!r}: not in structures: ({known}) nor in the "
                        "species library", node, key, path) from None


def _load_quantities(ctx: _Ctx, raw: _Map, structures: dict, counterpoise: bool
                     ) -> list[Quantity]:
    seq = raw.get("quantities")
    if not isinstance(seq, _Seq) or not seq:
        raise ctx.error("quantities must be a non-empty list", raw, "quantities", "quantities")
    out, names = [], set()
    for i, q in enumerate(seq):
        path = f"quantities[{i}]"
        q = _require_map(ctx, q, seq, i, path)
        _check_keys(ctx, q, {"name", "kind", "complex", "paired", "separated", "products",
                             "terms", "description", "counterpoise", "initial", "final",
                             "images", "fixed", "mode", "fmax", "max_steps", "spring",
                             "relax_endpoints", "host", "guest", "sites", "poses", "keep",
                             "seed", "relax", "path_type", "from", "to", "active_radius",
                             "prerelax"}, path)
        kind = q.get("kind")
        if kind not in KINDS:
            raise ctx.error(f"kind must be one of {', '.join(KINDS)}, got {kind!r}", q, "kind",
                            f"{path}.kind")
        qname = str(q.get("name", f"{kind} {i + 1}"))
        if qname in names:
            raise ctx.error(f"duplicate quantity name {qname!r}", q, "name", f"{path}.name")
        names.add(qname)
        cp = q.get("counterpoise", counterpoise)
        desc = str(q.get("description", ""))
        hop_keys = sorted({"path_type", "from", "to", "active_radius", "prerelax"} & set(q))
        if kind != "barrier" and hop_keys:
            bad = hop_keys[0]
            raise ctx.error(f"{bad}: belongs to kind: barrier", q, bad, f"{path}.{bad}")
        if kind in ("binding", "adsorption") and "host" in q:
            out.append(Quantity(qname, kind, counterpoise=cp, description=desc,
                                placement=_load_placement(ctx, q, structures, path)))
        elif kind in ("binding", "adsorption", "desolvation"):
            cname = q.get("complex")
            if cname is None:
                raise ctx.error(f"{kind} needs complex: (or host: and guest: to place a guest)",
                                seq, i, f"{path}.complex")
            cx = _resolve(ctx, str(cname), structures, q, "complex", f"{path}.complex")
            frags = structures.get(str(cname), (None, []))[1]
            if not frags:
                raise ctx.error(f"structure {cname!r} has no fragments: define them under "
                                f"structures.{cname}.fragments", q, "complex", f"{path}.complex")
            out.append(Quantity(qname, kind, cx, tuple(frags), counterpoise=cp, description=desc))
        elif kind == "barrier":
            out.append(Quantity(qname, kind, description=desc,
                                path=_load_path(ctx, q, structures, qname, path)))
        elif kind == "dissociation":
            paired = q.get("paired", q.get("complex"))
            if paired is None:
                raise ctx.error("dissociation needs paired: (the ion pair)", seq, i, f"{path}.paired")
            pmol = _resolve(ctx, str(paired), structures, q, "paired" if "paired" in q else
                            "complex", f"{path}.paired")
            if ("separated" in q) == ("products" in q):
                raise ctx.error("give exactly one of separated: (one structure) or products: "
                                "(a list)", seq, i, path)
            key = "separated" if "separated" in q else "products"
            names_ = q[key] if key == "products" else [q[key]]
            if not isinstance(names_, list) or not names_:
                raise ctx.error("products must be a non-empty list of structures", q, key,
                                f"{path}.{key}")
            prods = tuple(_resolve(ctx, str(n), structures, q, key, f"{path}.{key}")
                          for n in names_)
            _check_balance(ctx, [(-1.0, pmol)] + [(1.0, p) for p in prods], q, key, path)
            out.append(Quantity(qname, kind, pmol, products=prods, description=desc))
        else:
            terms_raw = q.get("terms")
            if not isinstance(terms_raw, _Seq) or not terms_raw:
                raise ctx.error("reaction needs terms: a list of {structure:, coefficient:}",
                                q, "terms", f"{path}.terms")
            terms = []
            for j, t in enumerate(terms_raw):
                tpath = f"{path}.terms[{j}]"
                t = _require_map(ctx, t, terms_raw, j, tpath)
                _check_keys(ctx, t, {"structure", "coefficient"}, tpath)
                coef = t.get("coefficient")
                if isinstance(coef, bool) or not isinstance(coef, (int, float)):
                    raise ctx.error("coefficient must be a number", t, "coefficient",
                                    f"{tpath}.coefficient")
                mol = _resolve(ctx, str(t.get("structure")), structures, t, "structure",
                               f"{tpath}.structure")
                terms.append(Term(float(coef), mol, str(t.get("structure"))))
            _check_balance(ctx, [(t.coefficient, t.molecule) for t in terms], q, "terms", path)
            out.append(Quantity(qname, kind, terms=tuple(terms), description=desc))
    return out


def _load_host(ctx: _Ctx, q: _Map, raw: Any, path: str,
               defaults: dict | None = None) -> tuple[str, dict, Any]:
    """``host:`` (a library name, or {name:, builder options}) → (name, options, Host).

    ``defaults`` are builder options taken when ``raw`` names the host without options."""
    from .hosts import get_host

    if isinstance(raw, _Map):
        _check_keys(ctx, raw, {"name", "cluster", "nodes", "centre", "multiplicity", "units",
                               "hfp_units", "silicons", "relax", "seed"}, f"{path}.host")
        opts = {k: v for k, v in raw.items() if k != "name"}
        hname = str(raw.get("name"))
    else:
        opts, hname = dict(defaults or {}), str(raw)
    try:
        return hname, opts, get_host(hname, **opts)
    except InputError as exc:
        raise ctx.error(exc.message, q, "host", f"{path}.host") from None


def _load_placement(ctx: _Ctx, q: _Map, structures: dict, path: str) -> PlacementSpec:
    """host (library name or {name:, options...}), guest, sites, poses, keep, seed, relax.

    The host is built (or read from its cache) and rigid poses are sampled here, so an unknown
    host or site, or a guest that fits nowhere, is refused before anything is queued.
    """
    from .placement import sample_poses

    hname, opts, host = _load_host(ctx, q, q["host"], path)
    if "guest" not in q:
        raise ctx.error("placing a guest needs guest: (a species or structure)", q, "host",
                        f"{path}.guest")
    guest = _resolve(ctx, str(q["guest"]), structures, q, "guest", f"{path}.guest")
    sites = q.get("sites", ["endo"] if "endo" in host.sites else ["exo"])
    sites = [sites] if isinstance(sites, str) else sites
    if not isinstance(sites, list) or not sites or not all(isinstance(x, str) for x in sites):
        raise ctx.error("sites must be a site name or a list of them", q, "sites", f"{path}.sites")
    for name in sites:
        if name not in host.sites:
            raise ctx.error(f"host {host.name} has no site {name!r}; its sites: "
                            f"{', '.join(sorted(host.sites))}", q, "sites", f"{path}.sites")
    counts = {}
    for k, default in (("poses", 8), ("keep", 3), ("seed", 7)):
        counts[k] = _int(ctx, q, k, path, default)
        if counts[k] < (0 if k == "seed" else 1):
            raise ctx.error(f"{k} must be >= 1", q, k, f"{path}.{k}")
    relax = q.get("relax", True)
    if not isinstance(relax, bool):
        raise ctx.error("must be true or false", q, "relax", f"{path}.relax")
    try:
        combined_charge_multiplicity(host.molecule, guest, f"{host.name} + {guest.name}")
        sample_poses(host, guest, sites, 1, counts["seed"])
    except InputError as exc:
        raise ctx.error(exc.message, q, "guest", f"{path}.guest") from None
    # only once the guest fits: poses are GFN2-xTB geometries, so is the guest's reference
    if relax:
        from .engines.xtb import xtb_relaxed

        relaxed = xtb_relaxed(guest)[0] if guest.natoms > 1 else guest
        guest = Molecule(relaxed.symbols, relaxed.positions, guest.charge, guest.multiplicity,
                         name=f"{q['guest']} (GFN2-xTB)" if guest.natoms > 1 else str(q["guest"]))
    return PlacementSpec(hname, tuple(sorted(opts.items())), guest, tuple(sites),
                         counts["poses"], counts["keep"], counts["seed"], relax,
                         host_molecule=host.molecule)


def _load_path(ctx: _Ctx, q: _Map, structures: dict, qname: str, path: str) -> PathSpec:
    """A barrier's path: endpoints (two structures, or a hop between two sites of a host),
    images, fixed atoms, mode and convergence settings."""
    hop = "host" in q or "path_type" in q
    if hop:
        for k in ("initial", "final"):
            if k in q:
                raise ctx.error("give either initial:/final: or a hop (host:, path_type:, from:,"
                                " to:), not both", q, k, f"{path}.{k}")
        initial, final, fixed, mobile, origin = _load_hop(ctx, q, structures, path)
    else:
        for k in ("from", "to", "guest", "active_radius"):
            if k in q:
                raise ctx.error(f"{k}: belongs to a hop between two sites of a host; give host:"
                                " or path_type:", q, k, f"{path}.{k}")
        ends = []
        for end in ("initial", "final"):
            if end not in q:
                raise ctx.error(f"barrier needs {end}: (a structure), or host:/path_type: and "
                                "from:/to: (a hop between two sites)", q, None, f"{path}.{end}")
            ends.append(_resolve(ctx, str(q[end]), structures, q, end, f"{path}.{end}"))
        (initial, final), fixed, mobile, origin = ends, (), (), ""
    images = _int(ctx, q, "images", path, 5)
    max_steps = _int(ctx, q, "max_steps", path, 200)
    if images < 1 or max_steps < 1:
        raise ctx.error("images and max_steps must be >= 1", q, "images", f"{path}.images")
    if "fixed" in q:
        try:
            fixed = tuple(parse_indices(q["fixed"]))
        except ValueError as exc:
            raise ctx.error(str(exc), q, "fixed", f"{path}.fixed") from None
    try:
        check_endpoints(initial, final, fixed=fixed)
    except InputError as exc:
        raise ctx.error(exc.message, q, "final", f"{path}.final") from None
    if any(not 0 <= i < initial.natoms for i in fixed):
        raise ctx.error(f"fixed atom index out of range 0..{initial.natoms - 1}", q, "fixed",
                        f"{path}.fixed")
    mode = q.get("mode", "dft")
    if mode not in MODES:
        raise ctx.error(f"mode must be one of {', '.join(MODES)}, got {mode!r}", q, "mode",
                        f"{path}.mode")
    numbers = {k: _positive(ctx, q, k, path, default) for k, default in (("fmax", 0.05),
                                                                         ("spring", 0.1))}
    flags = {}
    for k, default in (("relax_endpoints", hop and mode == "dft"), ("prerelax", hop)):
        flags[k] = q.get(k, default)
        if not isinstance(flags[k], bool):
            raise ctx.error("must be true or false", q, k, f"{path}.{k}")
    return PathSpec(qname, initial, final, images, fixed, numbers["fmax"], max_steps, mode,
                    numbers["spring"], flags["relax_endpoints"], flags["prerelax"], mobile, origin)


def _positive(ctx: _Ctx, q: _Map, key: str, path: str, default: float) -> float:
    v = q.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
        raise ctx.error(f"{key} must be a positive number", q, key, f"{path}.{key}")
    return float(v)


def _load_hop(ctx: _Ctx, q: _Map, structures: dict, path: str
              ) -> tuple[Molecule, Molecule, tuple[int, ...], tuple[int, ...], str]:
    """A hop's unrelaxed endpoints from ``path_type:`` and/or ``host:``, ``guest:`` (default
    Li+), ``from:``/``to:`` (``site`` or ``site:index``) and ``active_radius:`` (Å)."""
    from .hops import hop_endpoints, parse_anchor, path_type

    ptype = None
    if "path_type" in q:
        try:
            ptype = path_type(str(q["path_type"]))
        except InputError as exc:
            raise ctx.error(exc.message, q, "path_type", f"{path}.path_type") from None
    raw_host = q.get("host", ptype.host if ptype else None)
    _, _, host = _load_host(ctx, q, raw_host, path,
                            ptype.host_options if ptype and "host" not in q else None)
    anchors = []
    for k in ("from", "to"):
        text = q.get(k, getattr(ptype, f"{k}_site") if ptype else None)
        if text is None:
            raise ctx.error(f"a hop needs {k}: (a donor-atom site of {host.name}, optionally "
                            "site:index)", q, None, f"{path}.{k}")
        try:
            anchors.append(parse_anchor(str(text)))
        except InputError as exc:
            raise ctx.error(exc.message, q, k, f"{path}.{k}") from None
    guest = _resolve(ctx, str(q.get("guest", "Li+")), structures, q, "guest", f"{path}.guest")
    radius = _positive(ctx, q, "active_radius", path, 6.0)
    try:
        combined_charge_multiplicity(host.molecule, guest, f"{host.name} + {guest.name}")
        ends = hop_endpoints(host, guest, anchors[0][0], anchors[1][0], anchors[0][1],
                             anchors[1][1], radius, ptype.interfacial if ptype else False)
    except InputError as exc:
        key = exc.field if exc.field in ("from", "to", "guest") else "host"
        raise ctx.error(exc.message, q, key if key in q else None, f"{path}.{key}") from None
    origin = (f"{guest.name or guest.formula} on {host.name}: "
              f"{ends.anchors[0]} → {ends.anchors[1]}")
    return ends.initial, ends.final, ends.fixed, ends.mobile, origin


def _check_balance(ctx: _Ctx, terms: list[tuple[float, Molecule]], node: _Map, key: str,
                   path: str) -> None:
    """Refuse a reaction whose atoms or charge do not balance."""
    from collections import Counter

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
