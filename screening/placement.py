"""Guest placement: poses of a guest at the named sites of a host, clash-filtered, relaxed and
ranked with GFN2-xTB, near-duplicates removed, the best ``keep`` passed on to DFT.

How a pose is made (rigid guest, one anchor of the site per pose, anchors taken in turn):

* ``cavity`` sites: guest centroid at the anchor ± 0.3 Å; half the orientations put the guest's
  long axis through a window of the host (so a long anion can thread a cage);
* ``window`` sites: centroid on the window, shifted up to half the guest's size outwards;
* ``surface`` sites: centroid beyond the outer van der Waals surface by the guest's radius;
* ``atom`` sites (donor atoms): a single ion 2.0 Å out along the donor's normal, a molecule's
  centroid its radius further out;
* ``open_metal`` sites: every other pose (the first, third, ...) binds the metal: one of the
  guest's O or N atoms (drawn per try) sits ``METAL_DONOR_DISTANCE`` out along the site's
  normal with its bonds pointing away from the metal, turned at random about the normal. The
  other poses are oriented at random as at any atom site. (Random orientations alone rarely
  bind: for TFSI⁻ at the HKUST-1 paddlewheel, 3 of them gave a best pose 3.05 Å from Cu that
  GFN2-xTB puts 0.42 eV above a sulfonyl O bound at 2.23 Å.)

Clash filter: every host–guest distance ≥ ``clash_scale`` × the sum of van der Waals radii. A
guest that does not fit rigidly (TFSI⁻ in CC3) is tried at softer scales (down to
``MIN_CLASH_SCALE``) and left to the relaxation; a relaxed pose whose fragments changed their
bonding is dropped. GFN2-xTB ranks poses; its energies never reach a results table (it overbinds
Li⁺ by tens of kcal/mol). Duplicates: guest RMSD after aligning the hosts, atoms matched per
element (Hungarian), below ``rmsd_threshold`` Å.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .engines.xtb import relax_all
from .errors import InputError
from .geometry import (Molecule, bond_graph, combined_charge_multiplicity, rotation_about,
                       rotation_onto, superpose, vdw_radius)
from .settings import current_settings
from .specs import DEFAULT_OPTIMIZER, Host, Part, Pose, Site

MIN_CLASH_SCALE = 0.4
CLASH_SCALES = (0.65, 0.55, 0.45, MIN_CLASH_SCALE)
RANK_FMAX = 0.1
"""Force threshold (eV/Å) to which every kept pose is relaxed before it is ranked."""
RANK_STEPS = 300
"""BFGS steps a pose may take to reach ``RANK_FMAX`` (per stage of the funnel)."""
METAL_DONORS = ("O", "N")
"""Guest atoms that a metal-bound pose at an ``open_metal`` site points at the metal."""
METAL_DONOR_DISTANCE = 2.2
"""Å from an open metal to the guest's donor atom in a metal-bound pose (an axial O on a
paddlewheel Cu: 2.2–2.5 Å)."""


def _rotation(rng: np.random.Generator) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.random(random_state=rng).as_matrix()


def _min_scaled_distance(host_pos, host_r, guest_pos, guest_r) -> float:
    d = np.linalg.norm(guest_pos[:, None, :] - host_pos[None], axis=2)
    return float((d / (guest_r[:, None] + host_r[None])).min())


def sample_poses(host: Host, guest: Molecule, site_names: list[str] | tuple[str, ...],
                 n_poses: int, seed: int = 7, tries: int = 400
                 ) -> list[tuple[str, np.ndarray, float]]:
    """Rigid, clash-filtered candidate poses: (site, guest positions (Å), clash scale used).

    Deterministic for a given ``seed``. Raises InputError naming the site where no clash-free
    pose exists even at ``MIN_CLASH_SCALE``.
    """
    hpos = np.asarray(host.molecule.positions)
    hr = vdw_radius(host.molecule.symbols)
    gpos0 = np.asarray(guest.positions)
    gpos0 = gpos0 - gpos0.mean(axis=0)
    gr = vdw_radius(guest.symbols)
    radius = float(np.max(np.linalg.norm(gpos0, axis=1))) if guest.natoms > 1 else 0.0
    axis = np.linalg.svd(gpos0)[2][0] if guest.natoms > 2 else np.array([0, 0, 1.0])
    win = host.sites.get("window")
    donors = _metal_donors(guest, gpos0)
    out = []
    for s_index, name in enumerate(site_names):
        site = host.site(name)
        rng = np.random.default_rng([seed, s_index])
        found = 0
        for k in range(n_poses * 4):  # more attempts than poses: some anchors may be blocked
            if found == n_poses:
                break
            anchor = k % len(site.points)
            metal_bound = name == "open_metal" and bool(donors) and found % 2 == 0
            best: tuple[float, np.ndarray] | None = None
            for t in range(tries):
                if metal_bound:
                    pos = _metal_bound(gpos0, donors[rng.integers(len(donors))],
                                       rng.uniform(0.0, 2 * np.pi), site, anchor)
                else:
                    rot = _rotation(rng)
                    if site.kind == "cavity" and win is not None and t % 2 == 0:
                        window = win.normals[rng.integers(len(win.normals))]
                        rot = rotation_onto(rot @ axis, window) @ rot
                    pos = gpos0 @ rot.T + _centre(site, anchor, radius, guest.natoms, rng)
                score = _min_scaled_distance(hpos, hr, pos, gr)
                if best is None or score > best[0]:
                    best = (score, pos)
                if score >= CLASH_SCALES[0]:
                    break
            assert best is not None
            scale = next((s for s in CLASH_SCALES if best[0] >= s), None)
            if scale is not None:
                out.append((name, best[1], scale))
                found += 1
        if not found:
            raise InputError(f"guest {guest.name or guest.formula} cannot be placed at site "
                             f"{name!r} of host {host.name} without clashes (no pose keeps "
                             f"{MIN_CLASH_SCALE} × the van der Waals distances in {tries} "
                             "orientations per anchor)", field="sites")
    return out


def _metal_donors(guest: Molecule, centred: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """The guest's ``METAL_DONORS`` atoms that have bonds, each with the unit vector from the
    mean of its bonded neighbours to it (its lone pairs' side); [] for a single atom."""
    if guest.natoms < 2:
        return []
    graph = bond_graph(guest.symbols, guest.positions)
    out = []
    for i, symbol in enumerate(guest.symbols):
        if symbol in METAL_DONORS and graph[i]:
            v = centred[i] - centred[sorted(graph[i])].mean(axis=0)
            if np.linalg.norm(v) > 1e-3:
                out.append((i, v / np.linalg.norm(v)))
    return out


def _metal_bound(centred: np.ndarray, donor: tuple[int, np.ndarray], angle: float,
                 site: Site, anchor: int) -> np.ndarray:
    """Guest positions with ``donor`` (atom, lone-pair direction) ``METAL_DONOR_DISTANCE`` out
    from the metal along the site's normal, its lone pairs towards the metal, and the guest
    turned by ``angle`` (radians) about the normal."""
    i, lone_pair = donor
    p, n = np.asarray(site.points[anchor]), np.asarray(site.normals[anchor])
    # turned about the normal, the donor's bonds pointing away from the metal
    rot = rotation_about(n, angle) @ rotation_onto(lone_pair, -n)
    return (centred - centred[i]) @ rot.T + p + METAL_DONOR_DISTANCE * n


def _centre(site: Site, anchor: int, radius: float, natoms: int, rng: np.random.Generator
            ) -> np.ndarray:
    p, n = site.points[anchor], site.normals[anchor]
    jitter = rng.normal(0.0, 0.3, 3)
    if site.kind == "cavity":
        return p + jitter
    if site.kind == "window":
        return p + n * rng.uniform(0.0, 0.5 * radius) + 0.5 * jitter
    if site.kind == "surface":
        return p + n * (radius + 1.0) + jitter
    return p + n * (2.0 + (radius if natoms > 1 else 0.0)) + 0.5 * jitter  # donor atom


def _fragment_graphs(mol: Molecule, parts: list[range]) -> list[list[set[int]]]:
    """Bond graph of each fragment on its own."""
    pos = np.asarray(mol.positions)
    return [bond_graph([mol.symbols[i] for i in part], pos[list(part)]) for part in parts]


def guest_rmsd(a: Pose, b: Pose) -> float:
    """RMSD (Å) of the guest atoms after aligning the hosts (Kabsch), atoms matched per element
    (all atoms aligned when there is no host)."""
    n = a.host_atoms
    gb = superpose(b.molecule.positions, a.molecule.positions, range(n) if n else None)[n:]
    return matched_rmsd(np.asarray(a.molecule.positions)[n:], gb, a.molecule.symbols[n:])


def matched_rmsd(ga: np.ndarray, gb: np.ndarray, symbols) -> float:
    """RMSD (Å) of two aligned sets of positions, atoms of each element matched to minimise it
    (Hungarian), so that swapped equivalent atoms or ligands count as the same."""
    from scipy.optimize import linear_sum_assignment

    syms = np.array(symbols)
    total = 0.0
    for s in set(syms):
        idx = np.flatnonzero(syms == s)
        cost = np.linalg.norm(ga[idx][:, None] - gb[idx][None], axis=2) ** 2
        r, c = linear_sum_assignment(cost)
        total += cost[r, c].sum()
    return float(np.sqrt(total / len(syms)))


def _final_site(host: Host, mol: Molecule, site: str) -> str:
    """For hosts with a cavity, where the guest's centroid ended: ``endo`` (within 0.6 of the
    centre-to-window distance), ``window`` (up to 1 Å beyond the windows) or ``exo``."""
    if "endo" not in host.sites or "window" not in host.sites:
        return site
    n = host.molecule.natoms
    c = np.asarray(mol.positions)[n:].mean(axis=0)
    centre = host.sites["endo"].points[0]
    window = np.linalg.norm(host.sites["window"].points - centre, axis=1).mean()
    d = np.linalg.norm(c - centre)
    return "endo" if d < 0.6 * window else "window" if d < window + 1.0 else "exo"


def place(host: Host, guest: Molecule, sites: list[str] | tuple[str, ...], n_poses: int = 8,
          keep: int = 3, seed: int = 7, relax: bool = True, rmsd_threshold: float = 0.5,
          progress: Callable[[str], None] | None = None,
          screen_fmax: float | None = None, optimizer: str = DEFAULT_OPTIMIZER,
          prerelax: str | None = None, guest_parts: tuple[Part, ...] = (),
          screen: str | None = None) -> list[Pose]:
    """The ``keep`` best distinct poses of ``guest`` at ``sites`` of ``host``, ranked by GFN2-xTB.

    The complex's charge is the sum of host and guest charges; its multiplicity, with all
    unpaired electrons parallel, host + guest − 1. Host atoms stay fixed if ``host.frozen``.
    Every pose kept is relaxed to ``RANK_FMAX``. With more than ``2 × keep`` candidates and a
    funnel's first stage, ``screen_fmax`` (eV/Å, looser: every candidate relaxed with GFN2-xTB
    only that far) or ``screen="gfn-ff"`` (every candidate relaxed with the GFN-FF force field
    and scored by a GFN2-xTB single point there), the best ``2 × keep`` distinct ones of that
    stage are relaxed on to ``RANK_FMAX`` and ranked. ``optimizer``: how each relaxation steps
    (:data:`~screening.specs.OPTIMIZERS`). ``prerelax="gfn-ff"``: every candidate is first
    relaxed with GFN-FF (:mod:`screening.engines.gfnff`), and GFN2-xTB starts from there (a
    candidate GFN-FF fails on keeps its rigid start); ``guest_parts``: the molecules of a guest
    made of several, whose charges GFN-FF needs.
    """
    say = progress or (lambda _m: None)
    hm = host.molecule
    charge, mult = combined_charge_multiplicity(hm, guest)
    n = hm.natoms
    fixed = list(range(n)) if host.frozen else []
    force_field = prerelax or screen
    if relax and force_field is not None:
        from .engines.gfnff import charge_problem, prerelax_problem

        problem = prerelax_problem(force_field) or charge_problem(hm, guest, guest_parts)
        if problem:
            raise InputError(problem, field="prerelax" if prerelax else "screen")
    candidates = sample_poses(host, guest, sites, n_poses, seed)
    parts = [range(n), range(n, n + guest.natoms)]
    bonding = _fragment_graphs(Molecule.from_arrays(
        hm.symbols + guest.symbols, np.vstack([hm.positions, guest.positions])), parts)
    starts = []
    for site, gpos, _scale in candidates:
        start = Molecule.from_arrays(hm.symbols + guest.symbols,
                                     np.vstack([hm.positions, gpos]), charge, mult,
                                     name=f"{guest.name or guest.formula}@{host.name}")
        start.validate(start.name)
        starts.append(start)
    workers = current_settings().workers
    funnel = relax and (screen_fmax is not None or screen is not None) and len(starts) > 2 * keep
    fmax = screen_fmax if funnel and screen_fmax is not None else RANK_FMAX
    if relax and (prerelax is not None or (funnel and screen is not None)):
        starts = _prerelaxed(starts, fixed, workers, guest, guest_parts, say)
    if workers > 1 and len(starts) > 1:
        say(f"  relaxing {len(starts)} candidate poses, {min(workers, len(starts))} at a time")
    if funnel:
        say(f"  funnel: {len(starts)} candidates "
            + (f"to {fmax} eV/Å first" if screen is None else
               "scored by GFN2-xTB single points at their GFN-FF geometries first"))
    relaxing = dict(fixed=fixed, relax=relax, workers=workers, bonding=bonding, say=say,
                    optimizer=optimizer)
    first = dict(relaxing, relax=False) if funnel and screen is not None else relaxing
    poses = _relaxed_ranked(host, starts, [(c[0], c[2]) for c in candidates], fmax, **first)
    if funnel:
        shortlist = _distinct(poses, rmsd_threshold)[:2 * keep]
        say(f"  funnel: the {len(shortlist)} best distinct of {len(poses)} on to "
            f"{RANK_FMAX} eV/Å")
        poses = _relaxed_ranked(host, [p.molecule for p in shortlist],
                                [(p.site, p.clash_scale) for p in shortlist], RANK_FMAX,
                                **relaxing)
    distinct = _distinct(poses, rmsd_threshold)
    if not distinct:
        raise InputError(f"no pose of {guest.name or guest.formula} at {', '.join(sites)} of "
                         f"{host.name} survived relaxation", field="sites")
    out = []
    for rank, p in enumerate(distinct[:keep], 1):
        name = f"{guest.name or guest.formula}@{host.name}[{p.final_site}#{rank}]"
        mol = Molecule(p.molecule.symbols, p.molecule.positions, charge, mult, name=name)
        out.append(Pose(mol, p.site, rank, n, p.xtb_eV, p.clash_scale, p.final_site))
    return out


def _prerelaxed(starts: list[Molecule], fixed: list[int], workers: int, guest: Molecule,
                guest_parts: tuple[Part, ...], say: Callable[[str], None]) -> list[Molecule]:
    """``starts`` (``guest``, made of ``guest_parts``, after the host) relaxed with GFN-FF
    (``fixed`` atoms held); one that GFN-FF fails on stays as it was, with a line saying why."""
    from .engines.gfnff import FF_FMAX, charged_atoms, ff_relax_all

    say(f"  pre-relaxing {len(starts)} candidate poses with GFN-FF to {FF_FMAX} eV/Å")
    out = []
    charged = charged_atoms(starts[0].natoms - guest.natoms, guest, guest_parts)
    relaxed_all = ff_relax_all(starts, fixed, workers, charged)
    for i, (start, relaxed) in enumerate(zip(starts, relaxed_all)):
        if isinstance(relaxed, str):
            say(f"  pose {i + 1}/{len(starts)}: {relaxed}; GFN2-xTB starts from the rigid pose")
        out.append(start if isinstance(relaxed, str) else relaxed)
    return out


def _relaxed_ranked(host: Host, starts: list[Molecule], origins: list[tuple[str, float]],
                    fmax: float, fixed: list[int], relax: bool, workers: int, bonding,
                    say: Callable[[str], None], optimizer: str) -> list[Pose]:
    """``starts`` relaxed with GFN2-xTB to ``fmax`` (eV/Å) and sorted by energy (eV);
    ``origins``: each start's (site, clash scale). A pose whose relaxation failed or whose
    fragments changed their bonds is dropped, with a line saying why."""
    n = host.molecule.natoms
    parts = [range(n), range(n, starts[0].natoms)] if starts else []
    poses: list[Pose] = []
    relaxed = relax_all(starts, fmax, RANK_STEPS, fixed, relax, workers, optimizer)
    for i, ((site, scale), outcome) in enumerate(zip(origins, relaxed)):
        if isinstance(outcome, str):  # tblite's SCF did not converge: drop the pose, say so
            say(f"  pose {i + 1}/{len(starts)} ({site}): {outcome}; dropped")
            continue
        final, energy = outcome
        if _fragment_graphs(final, parts) != bonding:  # a fragment gained or lost a bond
            say(f"  pose {i + 1}/{len(starts)} ({site}): bonds changed on relaxation; dropped")
            continue
        fsite = _final_site(host, final, site)
        poses.append(Pose(final, site, 0, n, energy, scale, fsite))
        say(f"  pose {i + 1}/{len(starts)} ({site} → {fsite}): GFN2-xTB rank energy "
            f"{energy:.3f} eV")
    return sorted(poses, key=lambda p: p.xtb_eV)


def _distinct(poses: list[Pose], rmsd_threshold: float) -> list[Pose]:
    """``poses`` (best first) without the near-duplicates of better ones (guest RMSD, Å)."""
    distinct: list[Pose] = []
    for p in poses:
        if all(guest_rmsd(p, q) > rmsd_threshold for q in distinct):
            distinct.append(p)
    return distinct
