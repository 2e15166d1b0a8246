"""Geometry analysis shared by the host builders: bond graphs, cavities, windows and sites.

Radii: van der Waals radii from ASE (Bondi/Mantina where known, 2.0 Å otherwise). Sizes are
diameters of the largest sphere that touches no atom's van der Waals sphere (Å).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from ..geometry import Molecule, bond_graph, vdw_radius
from ..specs import Site


def clearance(points: np.ndarray, pos: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each point, the distance to the nearest van der Waals surface (Å; < 0 inside one)."""
    points = np.atleast_2d(points)
    out = np.empty(len(points))
    for s in range(0, len(points), 2048):
        d = np.linalg.norm(points[s:s + 2048, None, :] - pos[None], axis=2) - radii[None]
        out[s:s + 2048] = d.min(axis=1)
    return out


def cavity(mol: Molecule, radii: np.ndarray | None = None, start: np.ndarray | None = None
           ) -> tuple[np.ndarray, float]:
    """Centre (Å) and diameter (Å) of the largest empty sphere near ``start`` (default: the
    centroid); ``radii``: van der Waals radii (default :func:`vdw_radius`)."""
    pos = np.asarray(mol.positions)
    radii = vdw_radius(mol.symbols) if radii is None else radii
    start = pos.mean(axis=0) if start is None else start
    res = minimize(lambda p: -clearance(p, pos, radii)[0], start, method="Nelder-Mead",
                   options={"xatol": 1e-3, "fatol": 1e-4})
    return res.x, 2.0 * float(-res.fun)


def fibonacci_sphere(n: int) -> np.ndarray:
    """``n`` nearly uniform unit vectors."""
    k = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * k / n)
    theta = np.pi * (1 + 5 ** 0.5) * k
    return np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], 1)


def ray_profiles(mol: Molecule, centre: np.ndarray, n_directions: int,
                 radii: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clearance along rays from ``centre`` out past the farthest atom: (directions (n, 3),
    distances along a ray every 0.2 Å (m,), clearance in Å (n, m))."""
    pos = np.asarray(mol.positions)
    radii = vdw_radius(mol.symbols) if radii is None else radii
    reach = float(np.max(np.linalg.norm(pos - centre, axis=1))) + 1.0
    ts = np.arange(0.0, reach, 0.2)
    dirs = fibonacci_sphere(n_directions)
    prof = clearance((centre + dirs[:, None, :] * ts[None, :, None]).reshape(-1, 3), pos, radii)
    return dirs, ts, prof.reshape(len(dirs), len(ts))


def windows(mol: Molecule, centre: np.ndarray, probe: float = 0.8, n_directions: int = 1500,
            min_angle_deg: float = 30.0, radii: np.ndarray | None = None
            ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Openings from a cavity to the outside: (centre, outward normal, diameter) per window.

    Rays from ``centre``: a ray's bottleneck is its smallest clearance; rays whose bottleneck
    exceeds ``probe`` (Å) are open, and open rays within ``min_angle_deg`` of each other are one
    window. The diameter is twice the widest bottleneck of the window's rays (a lower bound).
    """
    dirs, ts, prof = ray_profiles(mol, centre, n_directions, radii)
    bottleneck = prof.min(axis=1)
    where = ts[prof.argmin(axis=1)]
    out: list[tuple[np.ndarray, np.ndarray, float]] = []
    heads: list[np.ndarray] = []
    cos_min = np.cos(np.radians(min_angle_deg))
    for i in np.argsort(-bottleneck):
        if bottleneck[i] < probe:
            break
        if any(dirs[i] @ h > cos_min for h in heads):
            continue
        heads.append(dirs[i])
        out.append((centre + dirs[i] * where[i], dirs[i], 2.0 * float(bottleneck[i])))
    return out


def enclosure(mol: Molecule, centre: np.ndarray, probe: float = 0.8,
              n_directions: int = 600) -> float:
    """Fraction of rays from ``centre`` that meet a van der Waals sphere on their way out (their
    bottleneck is below ``probe`` Å): ~1 inside a cage, far below in a fold of a chain."""
    _, _, prof = ray_profiles(mol, centre, n_directions)
    return float((prof.min(axis=1) < probe).mean())


def surface_points(mol: Molecule, n: int = 12, margin: float = 0.0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Points on the outer van der Waals surface along ``n`` directions from the centroid.

    Returns (points, outward normals); each point is where the ray from outside first touches a
    van der Waals sphere, moved ``margin`` Å further out.
    """
    pos = np.asarray(mol.positions)
    radii = vdw_radius(mol.symbols)
    c = pos.mean(axis=0)
    reach = float(np.max(np.linalg.norm(pos - c, axis=1) + radii)) + 1.0
    ts = np.arange(reach, -0.01, -0.2)
    dirs = fibonacci_sphere(n)
    pts = []
    for u in dirs:
        prof = clearance(c + u * ts[:, None], pos, radii)
        hit = int(np.argmax(prof < 0)) if (prof < 0).any() else len(ts) - 1
        pts.append(c + u * (ts[max(hit - 1, 0)] + margin))
    return np.array(pts), dirs


def atom_site(mol: Molecule, graph: list[set[int]], indices: list[int], name: str) -> Site:
    """A site on coordinating atoms; each normal points from the atom's neighbours to the atom."""
    pos = np.asarray(mol.positions)
    centroid = pos.mean(axis=0)
    normals = []
    for i in indices:
        nb = sorted(graph[i])
        v = pos[i] - pos[nb].mean(axis=0) if nb else pos[i] - centroid
        if np.linalg.norm(v) < 1e-3:
            v = pos[i] - centroid
        normals.append(v / np.linalg.norm(v))
    return Site(name, "atom", pos[indices], np.array(normals))


def surface_and_donor_sites(mol: Molecule, graph: list[set[int]] | None = None
                            ) -> dict[str, Site]:
    """The ``exo`` site (14 points on the outer surface) and one site per donor-atom type."""
    graph = graph if graph is not None else bond_graph(mol.symbols, mol.positions)
    pts, normals = surface_points(mol, 14)
    sites = {"exo": Site("exo", "surface", pts, normals)}
    for kind, idx in coordinating_atoms(mol, graph).items():
        sites[kind] = atom_site(mol, graph, idx, kind)
    return sites


METALS = frozenset({"Mg", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn",
                    "Zr", "Al", "Cd", "Ag", "Ln"})
"""Elements whose under-coordinated atoms count as open metal sites."""


def open_metal_site(mol: Molecule, graph: list[set[int]]) -> Site | None:
    """Metal atoms with room on one side: the centroid of their neighbours sits ≥ 0.3 Å off the
    metal (a saturated tetrahedral or octahedral metal has it on top) and no atom lies within
    1.8 Å of the point 2 Å out along that direction. None if there is no such metal."""
    pos = np.asarray(mol.positions)
    pts, normals = [], []
    for i, s in enumerate(mol.symbols):
        if s not in METALS or not graph[i]:
            continue
        v = pos[i] - pos[sorted(graph[i])].mean(axis=0)
        if np.linalg.norm(v) < 0.3:
            continue
        u = v / np.linalg.norm(v)
        others = np.delete(pos, i, axis=0)
        if np.linalg.norm(others - (pos[i] + 2.0 * u), axis=1).min() >= 1.8:
            pts.append(pos[i])
            normals.append(u)
    return Site("open_metal", "atom", pts, normals) if pts else None


def coordinating_atoms(mol: Molecule, graph: list[set[int]]) -> dict[str, list[int]]:
    """Donor atoms by type, from the bond graph (names are site names)."""
    sym = mol.symbols
    out: dict[str, list[int]] = {}

    def add(kind: str, i: int) -> None:
        out.setdefault(kind, []).append(i)

    for i, s in enumerate(sym):
        nb = [sym[j] for j in graph[i]]
        if s == "N" and len(nb) == 2 and "H" not in nb and all(x == "C" for x in nb):
            # N-C-N: the free N of an imidazolate (ZIF-8 cut from its Zn); else an imine N
            azole = any(sym[k] == "N" and k != i for c in graph[i] for k in graph[c])
            add("azolate_N" if azole else "imine_N", i)
        elif s == "O" and nb == ["C"]:
            add("carbonyl_O", i)
        elif s == "O" and len(nb) == 2 and all(x == "C" for x in nb):
            add("ether_O", i)
        elif s == "O" and sorted(nb) == ["H", "Si"]:
            add("silanol_O", i)
        elif s == "F":
            add("F", i)
    return out


MIN_CAVITY_ANGSTROM = 2.0
"""A molecule is analysed as a cage when its largest empty sphere near the centroid is at least
this wide (diameter, Å) ..."""
MIN_ENCLOSURE = 0.6
"""... and at least this fraction of the rays from that sphere's centre meet the molecule."""


# Pore sizes on the definitions of the porous-molecule literature (pywindow: Miklitz & Jelfs,
# J. Chem. Inf. Model. 2018, 58, 2387), computed here from those definitions.
LITERATURE_H_RADIUS = 1.09
"""Å: Rowland & Taylor's H radius, used with Bondi's radii for the other elements by pywindow
(the product's own clash checks use ASE's 1.20 Å)."""


def literature_radii(symbols: list[str] | tuple[str, ...]) -> np.ndarray:
    """Van der Waals radii (Å) of the pore-size literature: Bondi, H 1.09 Å."""
    r = vdw_radius(symbols)
    return np.where(np.array(symbols) == "H", LITERATURE_H_RADIUS, r)


def maximum_diameter(mol: Molecule, radii: np.ndarray | None = None) -> float:
    """Largest extent of a molecule (Å): max over atom pairs of distance + both radii."""
    pos = np.asarray(mol.positions)
    radii = literature_radii(mol.symbols) if radii is None else radii
    if len(pos) == 1:
        return float(2 * radii[0])
    d = np.linalg.norm(pos[:, None] - pos[None], axis=2) + radii[:, None] + radii[None]
    return float(d.max())


def window_diameter(mol: Molecule, point: np.ndarray, normal: np.ndarray,
                    radii: np.ndarray | None = None, depth: float = 2.0) -> float:
    """Diameter (Å) of the largest sphere that passes through a window: in each plane across
    the window axis (``point``, ``normal``) the widest local opening, and of those the
    narrowest, searched within ``depth`` Å of ``point`` along the axis."""
    from scipy.optimize import minimize_scalar

    pos = np.asarray(mol.positions)
    radii = literature_radii(mol.symbols) if radii is None else radii
    u = normal / np.linalg.norm(normal)
    e1 = np.cross(u, [1.0, 0.0, 0.0] if abs(u[0]) < 0.9 else [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(u, e1)

    def widest(t: float) -> float:  # local maximum of the clearance in the plane at offset t
        origin = point + t * u
        res = minimize(lambda q: -clearance(origin + q[0] * e1 + q[1] * e2, pos, radii)[0],
                       np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-4})
        return float(-res.fun)

    res = minimize_scalar(widest, bounds=(-depth, depth), method="bounded",
                          options={"xatol": 1e-2})
    return 2.0 * min(float(res.fun), widest(0.0))


def pore_sizes(mol: Molecule) -> dict:
    """A porous molecule's sizes (Å) on the literature's definitions (pywindow's names):

    * ``pore_diameter``: largest sphere centred at the centre of mass that touches no atom;
    * ``pore_diameter_opt``: the same with its centre moved to make it largest;
    * ``window_diameters``: largest sphere through each window (largest first);
    * ``maximum_diameter``: the molecule's extent, atoms' radii included;
    * ``atom_centre_diameter``: twice the distance from the centre of mass to the nearest atom
      centre, no radii (not pywindow's; cavity sizes quoted in papers are often this one).

    Radii: :func:`literature_radii`. A molecule whose optimised sphere escapes from it (no
    enclosed cavity) gets ``pore_diameter_opt`` None and no windows.
    """
    from ase.data import atomic_masses, atomic_numbers

    pos = np.asarray(mol.positions)
    radii = literature_radii(mol.symbols)
    masses = np.array([atomic_masses[atomic_numbers[s]] for s in mol.symbols])
    com = masses @ pos / masses.sum()
    out: dict = {"pore_diameter": round(max(0.0, 2.0 * float(clearance(com, pos, radii)[0])), 3),
                 "maximum_diameter": round(maximum_diameter(mol, radii), 3),
                 "atom_centre_diameter": round(2.0 * float(np.linalg.norm(pos - com,
                                                                          axis=1).min()), 3),
                 "pore_diameter_opt": None, "window_diameters": []}
    centre, diameter = cavity(mol, radii, com)
    size = float(np.linalg.norm(pos - com, axis=1).max())
    if (diameter < MIN_CAVITY_ANGSTROM or np.linalg.norm(centre - com) > 0.5 * size
            or enclosure(mol, centre) < MIN_ENCLOSURE):
        return out
    out["pore_diameter_opt"] = round(diameter, 3)
    wins = [window_diameter(mol, p, n, radii) for p, n, _ in windows(mol, centre, radii=radii)]
    out["window_diameters"] = [round(w, 3) for w in sorted(wins, reverse=True)]
    return out
