"""Complexes of several species: solvation shells, guest clusters and ion-pair states on a host.

Three builders, each deterministic for a seed, each returning structures that know their parts
(:class:`~screening.specs.Part`: host, ion, counter-ion, solvent, guest):

* :func:`shell` — an ion (Li⁺, Na⁺, K⁺, …) with given ligands, e.g. 3 EC + 1 DEC: the ion at the
  origin, each ligand's donor atom on a vertex of the coordination polyhedron (linear, trigonal,
  tetrahedral, trigonal bipyramid, octahedron) at the ion–donor distance, the ligand's body
  pointing away; rigid candidates clash-filtered, relaxed with GFN2-xTB, dropped if the
  coordination number is lost (a donor farther than ``COORDINATION_FACTOR`` × the start
  distance), ranked and de-duplicated.
* :func:`guest_cluster` — several guests as one rigid guest for :func:`screening.placement.place`
  (co-placement): a shell around the first cation, or, with no cation, guests packed around the
  first one.
* :func:`separated_poses` — a salt's separated state on a host: the cation at a donor-atom site
  of the host, the counter-ion at the host's outer surface at least ``separation`` Å away. The
  host is frozen and the cation and the anion's central atom are held where they were put:
  nothing else keeps two opposite charges apart on a finite cluster in the gas phase. The
  contact state (mode ``contact``) is the ion-pair cluster placed as one guest on the same
  frozen host, so both states see the same substrate.

GFN2-xTB only ranks candidates (it overbinds Li⁺); energies come from DFT on the kept ones.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np
from ase.calculators.calculator import CalculatorError

from .engines.xtb import xtb_relaxed
from .errors import InputError
from .geometry import Molecule, bond_graph, rotation_onto, vdw_radius
from .placement import guest_rmsd, place, sample_poses
from .specs import Host, Part, PlacementSpec, Pose

IONS = ("Li", "Na", "K", "Mg", "Ca", "Zn")
"""Elements that make a single-atom cation the centre of a shell."""
ION_DONOR_ANGSTROM = {"Li": 1.95, "Na": 2.35, "K": 2.75, "Mg": 2.05, "Ca": 2.35, "Zn": 2.05}
"""Start distance (Å) of a donor O from the ion (N +0.1, F −0.05)."""
COORDINATION_FACTOR = 1.35
"""A ligand stays coordinated while its nearest donor is within this factor of the start
distance (e.g. Li–O ≤ 2.63 Å)."""
MIN_CONTACT = 0.6
"""Ligand–ligand distances must stay ≥ this × the sum of van der Waals radii in a candidate."""

Progress = Callable[[str], None]


def polyhedron(n: int) -> np.ndarray:
    """Unit vectors of the ideal coordination polyhedron with ``n`` vertices (1–8)."""
    if n == 1:
        return np.array([[0, 0, 1.0]])
    if n == 2:
        return np.array([[0, 0, 1.0], [0, 0, -1.0]])
    if n == 3:
        a = np.radians([90, 210, 330])
        return np.c_[np.cos(a), np.sin(a), np.zeros(3)]
    if n == 4:
        return np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3)
    if n == 5:
        a = np.radians([0, 120, 240])
        return np.vstack([np.c_[np.cos(a), np.sin(a), np.zeros(3)], [[0, 0, 1.0], [0, 0, -1.0]]])
    if n == 6:
        return np.vstack([np.eye(3), -np.eye(3)])
    if n in (7, 8):  # pentagonal bipyramid / square antiprism
        if n == 7:
            a = np.radians(np.arange(5) * 72.0)
            return np.vstack([np.c_[np.cos(a), np.sin(a), np.zeros(5)], [[0, 0, 1.0],
                                                                         [0, 0, -1.0]]])
        a = np.radians(np.arange(4) * 90.0)
        top = np.c_[np.cos(a), np.sin(a), np.full(4, 0.75)]
        bottom = np.c_[np.cos(a + np.pi / 4), np.sin(a + np.pi / 4), np.full(4, -0.75)]
        v = np.vstack([top, bottom])
        return v / np.linalg.norm(v, axis=1)[:, None]
    raise InputError(f"a shell takes 1 to 8 ligands, not {n}", field="ligands")


def donor_atom(mol: Molecule) -> int:
    """The atom of a ligand that binds a cation: a carbonyl/sulfonyl O (O with one neighbour),
    else any O, else N, else F. Raises InputError for a ligand with none of them."""
    graph = bond_graph(mol.symbols, mol.positions)
    for want in (lambda i: mol.symbols[i] == "O" and len(graph[i]) == 1,
                 lambda i: mol.symbols[i] == "O",
                 lambda i: mol.symbols[i] == "N",
                 lambda i: mol.symbols[i] == "F"):
        found = [i for i in range(mol.natoms) if want(i)]
        if found:
            return found[0]
    raise InputError(f"{mol.name or mol.formula} has no donor atom (O, N or F) to bind an ion",
                     field="ligands")


def is_ion(mol: Molecule) -> bool:
    """A single-atom cation of :data:`IONS`."""
    return mol.natoms == 1 and mol.symbols[0] in IONS and mol.charge > 0


def _role(mol: Molecule) -> str:
    return "ion" if is_ion(mol) else "counter-ion" if mol.charge < 0 else "solvent"


def _combine(pieces: list[tuple[Molecule, np.ndarray]], roles: list[str] | None = None,
             name: str = "") -> tuple[Molecule, tuple[Part, ...]]:
    """One molecule of ``pieces`` (molecule, new positions) in order, with its parts; the
    charge adds and unpaired electrons are parallel."""
    symbols: list[str] = []
    positions: list[np.ndarray] = []
    parts = []
    for k, (mol, pos) in enumerate(pieces):
        start = len(symbols)
        symbols += mol.symbols
        positions.append(np.asarray(pos, float).reshape(-1, 3))
        parts.append(Part(roles[k] if roles else _role(mol), mol.name or mol.formula,
                          tuple(range(start, start + mol.natoms)), mol.charge,
                          mol.multiplicity))
    charge = sum(m.charge for m, _ in pieces)
    mult = 1 + sum(m.multiplicity - 1 for m, _ in pieces)
    mol = Molecule.from_arrays(symbols, np.vstack(positions), charge, mult, name=name)
    mol.validate(name or "complex")
    return mol, tuple(parts)


def _oriented(lig: Molecule, donor: int, point: np.ndarray, direction: np.ndarray,
              spin: float) -> np.ndarray:
    """Positions of ``lig`` with its donor atom at ``point`` and its body along ``direction``,
    turned by ``spin`` (rad) about it."""
    pos = np.asarray(lig.positions) - np.asarray(lig.positions)[donor]
    body = pos.mean(axis=0)
    if np.linalg.norm(body) > 1e-6:
        pos = pos @ rotation_onto(body / np.linalg.norm(body), direction).T
    c, s = np.cos(spin), np.sin(spin)
    k = direction / np.linalg.norm(direction)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    turn = np.eye(3) + s * kx + (1 - c) * kx @ kx
    return pos @ turn.T + point


def _scaled_contact(a: np.ndarray, ra: np.ndarray, b: np.ndarray, rb: np.ndarray) -> float:
    d = np.linalg.norm(a[:, None] - b[None], axis=2)
    return float((d / (ra[:, None] + rb[None])).min())


def shell_candidates(ion: Molecule, ligands: list[Molecule], n: int = 6, seed: int = 7,
                     tries: int = 300, blocked: tuple[np.ndarray, np.ndarray] | None = None
                     ) -> list[tuple[Molecule, tuple[Part, ...]]]:
    """Up to ``n`` rigid, clash-free shells: the ion at the origin (or where it is, with
    ``blocked`` atoms around it), each ligand's donor on a polyhedron vertex.

    ``blocked``: (positions, radii) of atoms the ligands must not touch (a host).
    Raises InputError when no clash-free arrangement exists (the coordination cannot be met).
    """
    if not is_ion(ion):
        raise InputError(f"{ion.name or ion.formula} is not a single-atom cation "
                         f"({', '.join(IONS)}) to build a shell around", field="ion")
    element = ion.symbols[0]
    donors = [donor_atom(lig) for lig in ligands]
    dist = [ION_DONOR_ANGSTROM[element] + {"N": 0.1, "F": -0.05}.get(lig.symbols[d], 0.0)
            for lig, d in zip(ligands, donors)]
    centre = np.asarray(ion.positions[0], float)
    vertices = polyhedron(len(ligands))
    radii = [vdw_radius(lig.symbols) for lig in ligands]
    rng = np.random.default_rng(seed)
    out = []
    from scipy.spatial.transform import Rotation

    for _ in range(tries):
        if len(out) == n:
            break
        frame = Rotation.random(random_state=rng).as_matrix()
        placed: list[np.ndarray] = []
        ok = True
        for lig, d, r, v, rad in zip(ligands, donors, dist, vertices @ frame.T, radii):
            pos = _oriented(lig, d, centre + r * v, v, rng.uniform(0, 2 * np.pi))
            for other, orad in zip(placed, radii):
                if _scaled_contact(pos, rad, other, orad) < MIN_CONTACT:
                    ok = False
            if blocked is not None and _scaled_contact(pos, rad, *blocked) < MIN_CONTACT:
                ok = False
            if not ok:
                break
            placed.append(pos)
        if ok:
            out.append(_combine([(ion, centre[None])] + list(zip(ligands, placed)),
                                name=shell_name(ion, ligands)))
    if not out:
        raise InputError(f"no clash-free shell of {shell_name(ion, ligands)} in {tries} tries: "
                         "the coordination cannot be met", field="ligands")
    return out


def shell_name(ion: Molecule, ligands: list[Molecule]) -> str:
    """E.g. ``Li+(EC)3(DEC)``."""
    counts: dict[str, int] = {}
    for lig in ligands:
        counts[lig.name or lig.formula] = counts.get(lig.name or lig.formula, 0) + 1
    return (ion.name or ion.formula) + "".join(f"({k}){v if v > 1 else ''}"
                                               for k, v in counts.items())


def coordination_kept(mol: Molecule, parts: tuple[Part, ...], ion_part: Part) -> bool:
    """Whether every ligand part still has an O/N/F within ``COORDINATION_FACTOR`` × the start
    distance of the ion."""
    pos = np.asarray(mol.positions)
    ion_at = ion_part.atoms[0]
    limit = COORDINATION_FACTOR * (ION_DONOR_ANGSTROM[mol.symbols[ion_at]] + 0.1)
    for p in parts:
        if p is ion_part or p.role == "host":
            continue
        donors = [a for a in p.atoms if mol.symbols[a] in ("O", "N", "F")]
        if not donors or np.linalg.norm(pos[donors] - pos[ion_at], axis=1).min() > limit:
            return False
    return True


def _relaxed(mol: Molecule, relax: bool, fixed: list[int] | None = None,
             deterministic: bool = False) -> tuple[Molecule, float] | None:
    try:
        return xtb_relaxed(mol, 0.1, 300, fixed, relax, deterministic)
    except CalculatorError:  # tblite's SCF did not converge
        return None


def _distinct(ranked: list[tuple[float, Molecule, tuple[Part, ...]]], keep: int,
              threshold: float = 0.5) -> list[tuple[float, Molecule, tuple[Part, ...]]]:
    """The ``keep`` best of ``ranked`` (energy first) whose atoms differ by more than
    ``threshold`` Å RMSD after superposition."""
    out: list[tuple[float, Molecule, tuple[Part, ...]]] = []
    for e, mol, parts in sorted(ranked, key=lambda x: x[0]):
        pose = Pose(mol, "shell", 0, 0)
        if all(guest_rmsd(Pose(m, "shell", 0, 0), pose) > threshold for _, m, _ in out):
            out.append((e, mol, parts))
        if len(out) == keep:
            break
    return out


def shell(ion: Molecule, ligands: list[Molecule], candidates: int = 6, keep: int = 1,
          seed: int = 7, progress: Progress | None = None
          ) -> list[tuple[Molecule, tuple[Part, ...]]]:
    """The ``keep`` best distinct shells of ``ion`` with ``ligands``, relaxed with GFN2-xTB
    (ranked by its energy), each keeping the coordination number. Best first."""
    found = shell_candidates(ion, ligands, candidates, seed)
    return _relaxed_ranked(found, None, lambda m, parts: coordination_kept(m, parts, parts[0]),
                           keep, progress, f"no shell of {shell_name(ion, ligands)} kept its "
                           "coordination on relaxation", "ligands")


def _relaxed_ranked(found: list[tuple[Molecule, tuple[Part, ...]]], fixed: list[int] | None,
                    kept: Callable[[Molecule, tuple[Part, ...]], bool], keep: int,
                    progress: Progress | None, failure: str, field: str
                    ) -> list[tuple[Molecule, tuple[Part, ...]]]:
    """Relax each candidate with GFN2-xTB (one thread: the geometries enter keys), drop those
    that fail ``kept``, and return the ``keep`` best distinct ones; InputError(``failure``) if
    none is left."""
    say = progress or (lambda _m: None)
    ranked = []
    for k, (mol, parts) in enumerate(found, 1):
        done = _relaxed(mol, True, fixed, deterministic=True)
        if done is None:
            say(f"  shell {k}/{len(found)}: GFN2-xTB failed; dropped")
            continue
        final, energy = done
        if not kept(final, parts):
            say(f"  shell {k}/{len(found)}: a ligand or donor left the ion on relaxation; "
                "dropped")
            continue
        say(f"  shell {k}/{len(found)}: GFN2-xTB rank energy {energy:.3f} eV")
        ranked.append((energy, final, parts))
    if not ranked:
        raise InputError(failure, field=field)
    return [(m, p) for _, m, p in _distinct(ranked, keep)]


def _frame_onto(vertices: np.ndarray, targets: list[np.ndarray], spin: float) -> np.ndarray:
    """A rotation (3×3) that puts ``vertices[0]`` on ``targets[0]`` and, with a second target,
    ``vertices[1]`` as near ``targets[1]`` as a turn about ``targets[0]`` allows; with one
    target, a turn by ``spin`` (rad) about it."""
    first = rotation_onto(vertices[0], targets[0])
    axis = targets[0] / np.linalg.norm(targets[0])
    kx = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])

    def turn(a: float) -> np.ndarray:
        return np.eye(3) + np.sin(a) * kx + (1 - np.cos(a)) * kx @ kx

    if len(targets) > 1:
        angles = np.linspace(0, 2 * np.pi, 72, endpoint=False)
        v1 = vertices[1] @ first.T
        spin = float(angles[np.argmax([(v1 @ turn(a).T) @ targets[1] for a in angles])])
    return turn(spin) @ first


def _ion_site(hpos: np.ndarray, donors: list[int], r0: float) -> np.ndarray | None:
    """The point nearest ``r0`` Å from every donor atom (least squares over a grid of points
    around their middle) with no other host atom within 1.8 Å; None if there is none."""
    mid = hpos[donors].mean(axis=0)
    k = np.arange(400) + 0.5
    phi, cos_t = np.pi * (1 + 5 ** 0.5) * k, 1 - 2 * k / 400
    sphere = np.c_[np.cos(phi) * np.sqrt(1 - cos_t ** 2), np.sin(phi) * np.sqrt(1 - cos_t ** 2),
                   cos_t]
    grid = (mid + np.concatenate([sphere * r for r in np.arange(0.25, 3.01, 0.25)]))
    others = np.delete(np.arange(len(hpos)), donors)
    clear = np.linalg.norm(grid[:, None] - hpos[others][None], axis=2).min(axis=1) >= 1.8
    if not clear.any():
        return None
    grid = grid[clear]
    err = ((np.linalg.norm(grid[:, None] - hpos[donors][None], axis=2) - r0) ** 2).sum(axis=1)
    return grid[int(np.argmin(err))]


def host_shell_candidates(host: Host, ion: Molecule, ligands: list[Molecule],
                          donor_sites: list[str], n: int = 6, seed: int = 7
                          ) -> list[tuple[Molecule, tuple[Part, ...]]]:
    """Rigid shells of ``ion`` bound by one host donor atom per name in ``donor_sites`` (e.g.
    two ``carbonyl_O`` of a polymer) and by ``ligands``: the ion at the ion–donor distance from
    each chosen host donor, the other vertices of the polyhedron taken by
    the ligands, nothing within ``MIN_CONTACT`` of the host. Donors up to 6.5 Å apart are taken
    (a flexible host closes the gap on relaxation). Host atoms first, then the ion,
    then the ligands. Raises InputError when no arrangement exists."""
    from itertools import combinations, product

    from .hops import donor_atoms

    if not is_ion(ion):
        raise InputError(f"{ion.name or ion.formula} is not a single-atom cation "
                         f"({', '.join(IONS)}) to build a shell around", field="ion")
    if not 1 <= len(donor_sites) <= 3:
        raise InputError("a shell at a host takes 1 to 3 host donors", field="donors")
    hm = host.molecule
    hpos = np.asarray(hm.positions)
    hrad = vdw_radius(hm.symbols)
    pools = [donor_atoms(host, s) for s in donor_sites]
    rng = np.random.default_rng(seed)
    combos = [c for c in product(*pools) if len(set(c)) == len(c) and all(
        2.5 <= np.linalg.norm(hpos[a] - hpos[b]) <= 6.5 for a, b in combinations(c, 2))]
    rng.shuffle(combos)
    element = ion.symbols[0]
    r0 = ION_DONOR_ANGSTROM[element]
    donors = [donor_atom(lig) for lig in ligands]
    dist = [r0 + {"N": 0.1, "F": -0.05}.get(lig.symbols[d], 0.0)
            for lig, d in zip(ligands, donors)]
    vertices = polyhedron(len(donor_sites) + len(ligands))
    out = []
    for combo in combos[:200]:
        if len(out) == n:
            break
        point = _ion_site(hpos, list(combo), r0)
        if point is None:
            continue
        targets = [(hpos[a] - point) / np.linalg.norm(hpos[a] - point) for a in combo]
        for _ in range(5):
            frame = _frame_onto(vertices, targets, rng.uniform(0, 2 * np.pi))
            placed: list[np.ndarray] = []
            for lig, d, r, v in zip(ligands, donors, dist, (vertices @ frame.T)[len(combo):]):
                pos = _oriented(lig, d, point + r * v, v, rng.uniform(0, 2 * np.pi))
                rad = vdw_radius(lig.symbols)
                if _scaled_contact(pos, rad, hpos, hrad) < MIN_CONTACT or any(
                        _scaled_contact(pos, rad, q, vdw_radius(m.symbols)) < MIN_CONTACT
                        for q, m in zip(placed, ligands)):
                    break
                placed.append(pos)
            if len(placed) == len(ligands):
                name = shell_name(ion, ligands) + f"@{host.name}"
                out.append(_combine([(hm, hpos), (ion, point[None])] + list(zip(ligands, placed)),
                                    ["host", "ion"] + [_role(m) for m in ligands], name))
                break
    if not out:
        raise InputError(f"no clash-free shell of {shell_name(ion, ligands)} on "
                         f"{len(donor_sites)} donor(s) ({', '.join(donor_sites)}) of {host.name}: "
                         "the coordination cannot be met", field="donors")
    return out


def host_shell(host: Host, ion: Molecule, ligands: list[Molecule], donor_sites: list[str],
               candidates: int = 6, keep: int = 1, seed: int = 7,
               progress: Progress | None = None) -> list[tuple[Molecule, tuple[Part, ...]]]:
    """:func:`host_shell_candidates` relaxed with GFN2-xTB (a frozen host stays frozen), each
    keeping its ligands and at least as many host donors on the ion; the ``keep`` best."""
    n = host.molecule.natoms
    limit = COORDINATION_FACTOR * (ION_DONOR_ANGSTROM[ion.symbols[0]] + 0.1)

    def kept(mol: Molecule, parts: tuple[Part, ...]) -> bool:
        pos = np.asarray(mol.positions)
        ion_at = parts[1].atoms[0]
        host_donors = sum(1 for a in range(n) if mol.symbols[a] in ("O", "N", "F") and
                          np.linalg.norm(pos[a] - pos[ion_at]) <= limit)
        return coordination_kept(mol, parts, parts[1]) and host_donors >= len(donor_sites)

    found = host_shell_candidates(host, ion, ligands, donor_sites, candidates, seed)
    return _relaxed_ranked(found, list(range(n)) if host.frozen else None, kept, keep, progress,
                           f"no shell of {shell_name(ion, ligands)} on {host.name} kept its "
                           "coordination on relaxation", "donors")


def guest_cluster(guests: list[Molecule], seed: int = 7) -> tuple[Molecule, tuple[Part, ...]]:
    """Several guests as one rigid cluster (not relaxed): a shell around the first cation, the
    others as its ligands; with no cation, the others packed around the first guest."""
    if len(guests) == 1:
        g = guests[0]
        return g, (Part(_role(g), g.name or g.formula, tuple(range(g.natoms)), g.charge,
                        g.multiplicity),)
    ions = [i for i, g in enumerate(guests) if is_ion(g)]
    if ions:
        ion = guests[ions[0]]
        ligands = [g for i, g in enumerate(guests) if i != ions[0]]
        return shell_candidates(ion, ligands, 1, seed)[0]
    centre = guests[0]
    cpos = np.asarray(centre.positions) - np.asarray(centre.positions).mean(axis=0)
    rc = float(np.linalg.norm(cpos, axis=1).max())
    rng = np.random.default_rng(seed)
    from scipy.spatial.transform import Rotation

    others = guests[1:]
    for _ in range(300):
        frame = Rotation.random(random_state=rng).as_matrix()
        pieces = [(centre, cpos)]
        for g, v in zip(others, polyhedron(len(others)) @ frame.T):
            gp = np.asarray(g.positions) - np.asarray(g.positions).mean(axis=0)
            rg = float(np.linalg.norm(gp, axis=1).max())
            gp = gp @ Rotation.random(random_state=rng).as_matrix().T + v * (rc + rg + 1.0)
            pieces.append((g, gp))
        ok = all(_scaled_contact(a, vdw_radius(ma.symbols), b, vdw_radius(mb.symbols))
                 >= MIN_CONTACT for k, (ma, a) in enumerate(pieces)
                 for mb, b in pieces[k + 1:])
        if ok:
            return _combine(pieces, name="+".join(g.name or g.formula for g in guests))
    raise InputError("the guests cannot be packed into one cluster without clashes",
                     field="guests")


def separated_poses(host: Host, spec: PlacementSpec, progress: Progress | None = None
                    ) -> list[Pose]:
    """The separated state of a salt on ``host``: the cation (the ``ion`` part of the spec's
    guest) 2 Å from a donor atom of ``spec.sites``, the rest of the guest (the counter-ion) at
    the host's outer surface, its nearest atom ≥ ``spec.separation`` Å from the cation. Each
    candidate is relaxed with GFN2-xTB (frozen hosts stay frozen); a relaxed state whose ions
    came closer than 0.8 × ``separation`` is dropped. The host is frozen, and the cation and the
    counter-ion's central atom (nearest its centroid) are held. Best ``spec.keep`` first, host
    atoms first, then the guest's atoms in their order."""
    from .hops import ion_positions

    say = progress or (lambda _m: None)
    guest, parts = spec.guest, spec.guest_parts
    ion_part = next((p for p in parts if p.role == "ion"), None)
    if ion_part is None or len(ion_part.atoms) != 1:
        raise InputError("a separated state needs a guest with one ion part (the cation)",
                         field="salt")
    counter_atoms = [a for a in range(guest.natoms) if a != ion_part.atoms[0]]
    counter = guest.subset(counter_atoms, guest.charge - ion_part.charge, 1, name="counter-ion")
    hm = host.molecule
    n = hm.natoms
    gpos = np.asarray(guest.positions)
    points: list[np.ndarray] = []
    for site in spec.sites:
        pos, ok = ion_positions(host, site)
        points += [p for p, good in zip(pos, ok) if good]
    if not points:
        raise InputError(f"no donor-atom site of {host.name} among {', '.join(spec.sites)} "
                         "takes the ion", field="sites")
    rng = np.random.default_rng(spec.seed)
    order = rng.permutation(len(points))
    poses: list[Pose] = []
    cpos0 = np.asarray(counter.positions)
    centre_atom = counter_atoms[int(np.argmin(np.linalg.norm(cpos0 - cpos0.mean(axis=0),
                                                                axis=1)))]
    fixed = list(range(n)) + [n + ion_part.atoms[0], n + centre_atom]
    for k in order[:spec.n_poses]:
        ion_at = points[k]
        ion_host = Host(host.name, Molecule.from_arrays(
            hm.symbols + (guest.symbols[ion_part.atoms[0]],), [*hm.positions, ion_at],
            hm.charge + ion_part.charge, hm.multiplicity), host.sites, host.info, host.frozen)
        cands = sample_poses(ion_host, counter, ["exo"], 12, int(rng.integers(1 << 30)))
        far = [(s, p, sc) for s, p, sc in cands
               if np.linalg.norm(p - ion_at, axis=1).min() >= spec.separation]
        if not far:
            say(f"  separated state at anchor {k}: no clash-free counter-ion "
                f"{spec.separation:.1f} Å away; skipped")
            continue
        site, cpos, scale = far[0]
        full = gpos.copy()
        full[ion_part.atoms[0]] = ion_at
        full[counter_atoms] = cpos
        start = Molecule.from_arrays(hm.symbols + guest.symbols, [*hm.positions, *full],
                                     hm.charge + guest.charge,
                                     hm.multiplicity + guest.multiplicity - 1)
        done = _relaxed(start, spec.relax, fixed)
        if done is None:
            say(f"  separated state at anchor {k}: GFN2-xTB failed; dropped")
            continue
        final, energy = done
        fpos = np.asarray(final.positions)[n:]
        gap = float(np.linalg.norm(fpos[counter_atoms] - fpos[ion_part.atoms[0]], axis=1).min())
        if gap < 0.8 * spec.separation:
            say(f"  separated state at anchor {k}: the ions came back together ({gap:.1f} Å); "
                "dropped")
            continue
        say(f"  separated state at anchor {k}: ions {gap:.1f} Å apart, GFN2-xTB rank energy "
            f"{energy:.3f} eV")
        poses.append(Pose(final, site, 0, n, energy, scale, "separated"))
    if not poses:
        raise InputError(f"no separated state of {guest.name or guest.formula} on {host.name} "
                         "survived relaxation", field="separation")
    poses.sort(key=lambda p: p.xtb_eV)
    out = []
    for rank, p in enumerate(poses[:spec.keep], 1):
        mol = Molecule(p.molecule.symbols, p.molecule.positions, p.molecule.charge,
                       p.molecule.multiplicity,
                       name=f"{guest.name or guest.formula}@{host.name}[separated#{rank}]")
        out.append(Pose(mol, p.site, rank, n, p.xtb_eV, p.clash_scale, "separated"))
    return out


def run_placement(spec: PlacementSpec, host: Host, progress: Progress | None = None
                  ) -> list[Pose]:
    """The poses of a campaign's :class:`PlacementSpec` in ``host`` (the built host it names):
    the guest (one species or a cluster) placed at the sites, or a salt's separated state."""
    if spec.mode == "separated":
        return separated_poses(host, spec, progress)
    if spec.mode == "contact":  # the ion pair on the same frozen substrate as its separated state
        host = replace(host, frozen=True)
    return place(host, spec.guest, spec.sites, spec.n_poses, spec.keep, spec.seed, spec.relax,
                 spec.rmsd_threshold, progress, spec.screen_fmax, spec.optimizer,
                 spec.prerelax, spec.guest_parts, spec.screen)
