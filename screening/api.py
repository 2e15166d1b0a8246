"""The Python API: the same operations as the CLI, returning DataFrames and ASE ``Atoms``.

>>> import screening.api as sc
>>> table = sc.run_campaign("workflows/quickstart.yaml")          # doctest: +SKIP
>>> sc.results(campaign="quickstart")                              # doctest: +SKIP
>>> sc.energy(sc.species_atoms("H2O"), method="screening")         # doctest: +SKIP
>>> poses = sc.place("CC3", "PC", sites=["endo"], keep=2)          # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pandas as pd
from ase import Atoms

from .campaign import Campaign, load_campaign
from .errors import InputError, wrong_kind
from .geometry import Molecule
from .methods import Method, get_method
from .species import get_species
from .specs import DEFAULT_OPTIMIZER
from .store import ResultStore


def _counts(**values) -> None:
    """InputError naming the first argument that is not an integer >= 1 (``seed``: >= 0)."""
    for name, value in values.items():
        least = 0 if name == "seed" else 1
        if wrong_kind(value, int) or value < least:
            raise InputError(f"must be an integer >= {least}, got {value!r}", field=name)


def _lengths(**values) -> None:
    """InputError naming the first argument that is neither None nor a finite number > 0."""
    for name, value in values.items():
        if value is not None and (wrong_kind(value, float) or value <= 0):
            raise InputError(f"must be a number > 0, got {value!r}", field=name)


def _names(value: str | list[str], what: str, noun: str = "species name") -> list[str]:
    """A name or a list of names as a list; InputError if it holds none."""
    names = [value] if isinstance(value, str) else list(value) \
        if isinstance(value, (list, tuple)) else []
    if not names or not all(isinstance(n, str) for n in names):
        raise InputError(f"must be a {noun} or a list of them, got {value!r}", field=what)
    return names


def species_atoms(name: str) -> Atoms:
    """The library geometry of ``name`` as ASE ``Atoms`` (charge and multiplicity in ``info``)."""
    return get_species(name).molecule().to_atoms()


def host_atoms(name: str, **options) -> Atoms:
    """A library host (e.g. ``"CC3"``, ``"HKUST-1", cluster="paddlewheel"``) as ASE ``Atoms``;
    its sites and build record are in ``info["sites"]`` and ``info["host"]``."""
    from .hosts import get_host

    host = get_host(name, **options)
    atoms = host.molecule.to_atoms()
    atoms.info.update(sites={k: v.points.tolist() for k, v in host.sites.items()},
                      host=host.info)
    return atoms


def sizes(names: str | list[str]) -> pd.DataFrame:
    """Pore and molecule sizes (Å) on the porous-molecule literature's definitions (pywindow's:
    cavity diameter at the centre of mass and optimised, window diameters, maximum diameter) of
    library species and hosts, one row each: "cavity vs guest size" (seed 000: CC3, TD_A and
    TFSI⁻). See :func:`screening.hosts.analysis.pore_sizes`."""
    from .hosts import get_host, host_names
    from .hosts.analysis import pore_sizes
    from .species import LIBRARY

    species = {s.name: s for s in LIBRARY}
    rows = []
    for name in _names(names, "names", "species or host name"):
        if name in species:
            mol, kind = species[name].molecule(), "species"
        elif name in host_names():
            mol, kind = get_host(name).molecule, "host"
        else:
            raise InputError(f"{name!r} is neither a species ({', '.join(species)}) nor a "
                             f"host ({', '.join(host_names())})")
        rows.append({"name": name, "kind": kind, "formula": mol.formula, **pore_sizes(mol)})
    return pd.DataFrame(rows)


def _with_roles(mol: Molecule, parts) -> Atoms:
    """``mol`` as Atoms with its parts in ``info["roles"]``: [{role, name, atoms, charge}]."""
    atoms = mol.to_atoms()
    atoms.info["roles"] = [p.to_dict() for p in parts]
    return atoms


def place(host: str, guest: str | list[str], sites: list[str] | None = None, poses: int = 8,
          keep: int = 3, seed: int = 7, screen_fmax: float | None = None,
          optimizer: str = DEFAULT_OPTIMIZER, prerelax: str | None = None,
          screen: str | None = None, **host_options) -> list[Atoms]:
    """The ``keep`` best distinct GFN2-xTB-ranked poses of library species ``guest`` (or of
    several, ``guest=["Li+", "TFSI-", "PC"]``, placed together as one cluster) in library host
    ``host``, best first (host atoms first; ``info`` holds site, rank, charge and the roles of
    every part: host, ion, counter-ion, solvent, guest). ``screen_fmax`` (eV/Å): relax all
    candidates only that far, and only the best ``2 × keep`` to the ranking threshold.
    ``optimizer``: ``"bfgs"`` or ``"tric"`` (geomeTRIC), how each pose is relaxed.
    ``prerelax="gfn-ff"``: every candidate relaxed with the GFN-FF force field first.
    ``screen="gfn-ff"``: a funnel whose first stage is GFN-FF (every candidate relaxed with it
    and scored by a GFN2-xTB single point; the best ``2 × keep`` relaxed with GFN2-xTB)."""
    from .complexes import guest_cluster
    from .engines.gfnff import prerelax_problem
    from .specs import screen_conflict, unknown_optimizer
    from .hosts import get_host
    from .placement import place as place_poses
    from .specs import Part

    _counts(poses=poses, keep=keep, seed=seed)
    _lengths(screen_fmax=screen_fmax)
    names = _names(guest, "guest")
    problem = unknown_optimizer(optimizer)
    if problem:
        raise InputError(problem, field="optimizer")
    for field, value in (("prerelax", prerelax), ("screen", screen)):
        problem = None if value is None else prerelax_problem(value)
        if problem:
            raise InputError(problem, field=field)
    problem = screen_conflict(screen, screen_fmax, prerelax)
    if problem:
        raise InputError(problem, field="screen")
    h = get_host(host, **host_options)
    cluster, parts = guest_cluster([get_species(n).molecule() for n in names], seed)
    n = h.molecule.natoms
    all_parts = (Part("host", h.name, tuple(range(n)), h.molecule.charge,
                      h.molecule.multiplicity), *(p.shifted(n) for p in parts))
    out = []
    for p in place_poses(h, cluster, sites or (["endo"] if "endo" in h.sites else ["exo"]),
                         poses, keep, seed, screen_fmax=screen_fmax, optimizer=optimizer,
                         prerelax=prerelax, guest_parts=parts, screen=screen):
        atoms = _with_roles(p.molecule, all_parts)
        atoms.info.update(site=p.final_site, rank=p.rank, host_atoms=p.host_atoms)
        out.append(atoms)
    return out


def shell(ion: str, ligands: list[str], candidates: int = 6, keep: int = 1, seed: int = 7
          ) -> list[Atoms]:
    """The ``keep`` best solvation shells of library ion ``ion`` (e.g. ``"Li+"``) with library
    ``ligands`` (e.g. ``["EC", "EC", "EC", "DEC"]``), GFN2-xTB-relaxed with the coordination
    held, best first; ``info["roles"]`` names the ion and each ligand."""
    from .complexes import shell as build

    _counts(candidates=candidates, keep=keep, seed=seed)
    return [_with_roles(m, parts) for m, parts in
            build(get_species(ion).molecule(),
                  [get_species(x).molecule() for x in _names(ligands, "ligands")],
                  candidates, keep, seed)]


def ion_pair(host: str, salt: tuple[str, str] = ("Li+", "TFSI-"), separation: float = 6.0,
             sites: list[str] | None = None, poses: int = 4, seed: int = 7,
             **host_options) -> dict[str, Atoms]:
    """The contact and the separated state of ``salt`` on library host ``host`` (the best
    GFN2-xTB-relaxed pose of each): ``{"contact": Atoms, "separated": Atoms}``, host atoms
    first, roles in ``info["roles"]``. Their DFT energy difference is seed 003's dissociation
    energy (a campaign's ``kind: dissociation`` with ``host:`` and ``salt:`` computes it)."""
    from .complexes import guest_cluster, run_placement
    from .hosts import get_host
    from .specs import PlacementSpec

    _counts(poses=poses, seed=seed)
    _lengths(separation=separation)
    if isinstance(salt, str) or len(salt) != 2:
        raise InputError(f"must be two species names (cation, anion), got {salt!r}",
                         field="salt")
    h = get_host(host, **host_options)
    pair, parts = guest_cluster([get_species(x).molecule() for x in salt], seed)
    donors = sites or sorted(n for n, s in h.sites.items() if s.kind == "atom")
    out = {}
    for state, where, mode in (("contact", ["exo"], "contact"), ("separated", donors, "separated")):
        spec = PlacementSpec(h.name, (), pair, tuple(where), poses, 1, seed, True,
                             host_molecule=h.molecule, guest_parts=parts, mode=mode,
                             separation=separation)
        best = run_placement(spec, h)[0]
        out[state] = _with_roles(best.molecule, spec.parts())
    return out


def hop(host: str, from_site: str, to_site: str, guest: str = "Li+",
        active_radius: float = 6.0, carve: float | None = None,
        **host_options) -> tuple[Atoms, Atoms]:
    """The two unrelaxed states of an ion hop between donor sites of library host ``host``
    (``site`` or ``site:index``); ``info`` holds charge, multiplicity, the anchors and the fixed
    atoms. ``carve`` (Å): the cluster within it of the ion, capped with H (as ``carve:`` in a
    campaign). Pass them to a campaign's ``initial:``/``final:`` or to :mod:`screening.neb`."""
    from .hops import carve_hop, hop_endpoints, parse_anchor
    from .hosts import get_host

    _lengths(active_radius=active_radius, carve=carve)
    (sa, ia), (sb, ib) = parse_anchor(from_site), parse_anchor(to_site)
    ends = hop_endpoints(get_host(host, **host_options), get_species(guest).molecule(), sa, sb,
                         ia, ib, active_radius)
    if carve is not None:
        ends = carve_hop(ends, carve, active_radius)
    out = []
    for mol, anchor in zip((ends.initial, ends.final), ends.anchors):
        atoms = mol.to_atoms()
        atoms.info.update(anchor=anchor, fixed=list(ends.fixed))
        out.append(atoms)
    return out[0], out[1]


def energy(structure: Atoms | Molecule, method: str | dict | Method = "screening",
           charge: int | None = None, multiplicity: int | None = None,
           db: str | os.PathLike | None = None, labels: dict | None = None) -> float:
    """Total energy in Hartree, from the results database if stored, else computed and stored.

    ``charge``/``multiplicity`` default to ``atoms.info`` (then 0 and 1) for ``Atoms``.
    """
    from .pipeline.stored import calculate

    if labels is not None and not isinstance(labels, dict):
        raise InputError(f"must be a dict of labels (job, campaign, ...), got {labels!r}",
                         field="labels")
    if isinstance(structure, Atoms):
        q = charge if charge is not None else int(structure.info.get("charge", 0))
        m = multiplicity if multiplicity is not None else int(structure.info.get("multiplicity", 1))
        structure = Molecule.from_atoms(structure, q, m)
    structure.validate()
    store = ResultStore(db)
    return calculate(structure, get_method(method), store.url, labels)["energy_hartree"]


def run_campaign(campaign: str | os.PathLike | Campaign, workers: int = 1,
                 db: str | os.PathLike | None = None, store: str | os.PathLike | None = None,
                 output: str | os.PathLike | None = None,
                 progress: bool | Callable[[str], None] = True,
                 tier: str | None = None) -> pd.DataFrame:
    """Run a campaign (at ``tier``, of a campaign with tiers) locally through FireWorks
    (embedded store) and return its quantities (eV). ``progress``: print each progress line
    (True), say nothing (False), or a callable given each line."""
    from .pipeline.launchpad import DEFAULT_STORE, use_embedded_store
    from .pipeline.local import run_local

    c = campaign if isinstance(campaign, Campaign) else load_campaign(campaign, tier=tier)
    use_embedded_store(store or DEFAULT_STORE)
    say = progress if callable(progress) else print if progress else None
    return run_local(c, None if db is None else str(db), store, output, workers, say)


def quantities(campaign: str | os.PathLike | Campaign, db: str | os.PathLike | None = None,
               tier: str | None = None) -> pd.DataFrame:
    """A campaign's quantities (eV) from whatever energies are stored; computes nothing."""
    from .collect import collect

    c = campaign if isinstance(campaign, Campaign) else load_campaign(campaign, tier=tier)
    return collect(c, ResultStore(db, create=False, writable=False))


def export_results(campaign: str | os.PathLike, file: str | os.PathLike,
                   db: str | os.PathLike | None = None, tiers: list[str] | None = None
                   ) -> dict[str, int]:
    """Write the stored records behind a campaign's tables (every tier unless ``tiers``) to
    ``file`` (ASE JSON, text) for :func:`import_results`, with the GFN2-xTB guest references
    and shells the campaign was resolved with (their coordinates are in its keys); returns the
    counts written."""
    from pathlib import Path

    from .campaign import load_every_tier
    from .campaign.resolve import Resolver
    from .collect import campaign_keys
    from .database import check_writable

    out = Path(file)
    if out.is_dir():
        raise InputError(f"{out} is a folder; give the export file's name (e.g. "
                         f"{out / 'calculations.json'})", field="output")
    check_writable(out.resolve().parent, "export folder", "-o", "nothing was written")
    store = ResultStore(db, create=False, writable=False)
    keys: dict[str, list[str]] = {"calculations": [], "poses": [], "paths": []}
    resolver = Resolver()
    for c in load_every_tier(campaign, tiers, resolver):
        for k, v in campaign_keys(c, store).items():
            keys[k] += v
    return store.export(file, keys["calculations"], keys["poses"], keys["paths"],
                        resolver.kept)


def import_results(file: str | os.PathLike, db: str | os.PathLike | None = None
                   ) -> dict[str, int]:
    """Load an :func:`export_results` file into the results database (stored keys are kept)
    and its guest references and shells into the cache (``Settings.cache_dir``), where they
    replace any made here, so that the campaign finds the imported records; returns the counts
    added (``structures``: kept structures written or replaced)."""
    return import_files([file], db)[0]


def import_files(files: list[str | os.PathLike], db: str | os.PathLike | None = None
                 ) -> list[dict[str, int]]:
    """:func:`import_results` for several files: every file is read and checked (its rows and
    kept structures) before any is imported, so one bad file imports nothing; returns the
    counts added, file by file."""
    from .campaign.resolve import exported_structures, write_kept
    from .store import read_export

    checked = []
    for file in files:
        rows = read_export(file)
        checked.append((file, rows, exported_structures(file, rows)))
    store = ResultStore(db)  # opened (and created) only once every file has passed
    counts = []
    for file, rows, structures in checked:
        added = store.import_file(file, rows)
        added["structures"] = sum(write_kept(stem, payload)
                                  for stem, payload in structures.items())
        counts.append(added)
    return counts


def results(db: str | os.PathLike | None = None, **filters: str) -> pd.DataFrame:
    """Stored calculations as a DataFrame; filters: campaign, name, method, formula."""
    import inspect

    known = [p for p in inspect.signature(ResultStore.dataframe).parameters if p != "self"]
    unknown = sorted(set(filters) - set(known))
    if unknown:
        raise InputError(f"no such filter; results() filters by {', '.join(known)}",
                         field=unknown[0])
    return ResultStore(db, create=False, writable=False).dataframe(**filters)


def structure(key: str, db: str | os.PathLike | None = None) -> Atoms:
    """The stored structure of a calc key (``results()['calc_key']``) as ASE ``Atoms``; an
    ONIOM structure's high-level atoms are in ``info["oniom_model"]`` (0-based indices)."""
    store = ResultStore(db, create=False, writable=False)
    try:
        mol = store.molecule(key)
        atoms = mol.to_atoms()
        if mol.model:
            atoms.info["oniom_model"] = sorted(mol.model)
        return atoms
    except KeyError:
        raise InputError(f"no stored calculation has the key {key!r} in {store.url} (the keys "
                         "are results()['calc_key'])", field="key") from None


__all__ = ["Campaign", "Method", "Molecule", "energy", "export_results", "get_method",
           "get_species", "hop", "host_atoms", "import_files", "import_results", "ion_pair",
           "load_campaign",
           "place", "quantities", "results", "run_campaign", "shell", "sizes", "species_atoms",
           "structure"]
