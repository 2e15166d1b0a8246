"""Ion-hop endpoints: the two states of a migration path, built from two sites of a host.

A hop puts the mobile ion (Li⁺, or a guest that carries one, such as Li⁺·PC) ``ION_DISTANCE``
out along the normal of one donor atom (the initial state) and of another (the final state); host
and guest atoms are in the same order in both. Host atoms farther than ``active_radius`` from both
ion positions are held fixed (an embedded active region), so a cut-out fragment cannot drift or
curl up along the band, and the band's cost does not grow with the host's far side.

Anchors are written ``site`` or ``site:index`` (0-based, into the site's donor atoms, as listed
by ``screening path-types --anchors HOST``). With no index, the pair is chosen automatically:

1. both ion positions clash-free (every other host atom ≥ ``MIN_CLEARANCE`` Å away);
2. the two donor atoms are different and not bonded to a common atom (geminal F of one CF₂ is
   not a hop);
3. ion positions ``HOP_RANGE`` Å apart;
4. for interface paths, each ion position within ``INTERFACE_ANGSTROM`` of both components
   (``Host.info["components"]``);
5. of those, the pair whose midpoint is nearest the host's centroid (away from cut ends).

Whether the two states are distinct minima is only known after relaxation:
:func:`screening.neb.relaxed_endpoints` refuses a path whose ion falls into the same place from
both ends.

Named path types are the seed papers' paths (``PATH_TYPES``); the barriers the papers report are
quoted in their descriptions for orientation, not as references for a small cluster model. On
the cached, folded PVDF-HFP 4-1 oligomer most F pairs relax (GFN2-xTB) into one Li⁺ pocket, so
``pvdf-hfp-chain`` names a pair checked to stay two minima (F:2 → F:8).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .geometry import (Molecule, bond_graph, combined_charge_multiplicity, rotation_onto,
                       vdw_radius)
from .specs import Host

ION_DISTANCE = 2.0
"""Ion to donor atom (Å) in the unrelaxed states (Li–F 1.9–2.0, Li–O 1.9–2.0, Li–N 2.0–2.1)."""
MIN_CLEARANCE = 1.8
"""Closest approach (Å) of the ion to any host atom other than its donor."""
HOP_RANGE = (3.0, 6.5)
"""Ion displacement (Å) of an automatically chosen hop."""
INTERFACE_ANGSTROM = 4.5
"""An interface hop's ion positions lie within this (Å) of both components."""
MOBILE_IONS = ("Li", "Na", "K", "Mg", "Ca", "Zn")


@dataclass(frozen=True)
class PathType:
    """A named seed path: host (library name and options), the two sites, and where it is from."""

    host: str
    host_options: dict = field(default_factory=dict)
    from_site: str = ""
    to_site: str = ""
    interfacial: bool = False
    description: str = ""


PATH_TYPES: dict[str, PathType] = {
    "pvdf-hfp-chain": PathType(
        "PVDF-HFP", {"units": 4, "hfp_units": 1}, "F:2", "F:8",
        description="Li⁺ from F to F along a PVDF-HFP chain (seed 003: 0.39 eV)"),
    "silica-surface": PathType(
        "SiO2", {"silicons": 8}, "silanol_O", "silanol_O",
        description="Li⁺ between silanol O across a hydroxylated SiO₂ cluster "
                    "(seed 003, along SiO₂: 0.45 eV)"),
    "silica-pvdf-hfp-interface": PathType(
        "SiO2/PVDF-HFP", {}, "F", "F", interfacial=True,
        description="Li⁺ along the SiO₂/PVDF-HFP interface, between F atoms that touch the "
                    "silica (seed 003: 0.26 eV)"),
    "pvdf-hfp-to-silica": PathType(
        "SiO2/PVDF-HFP", {}, "F", "silanol_O", interfacial=True,
        description="Li⁺ from the PVDF-HFP chain onto the silica (seed 003, stage I: 0.31 eV)"),
    "cc3-imine": PathType(
        "CC3", {}, "imine_N", "imine_N",
        description="Li⁺ between two imine N of a CC3 cage (seed 000; no PC, one cage)"),
    "cc3-cage-to-cage": PathType(
        "CC3-pair", {}, "imine_N", "imine_N", interfacial=True,
        description="Li⁺ from an imine N of one CC3 cage to one of the next, across their "
                    "window-to-window contact (seed 000: Li⁺ between neighbouring cages; no PC)"),
    "silica-silica": PathType(
        "SiO2-pair", {}, "silanol_O", "silanol_O", interfacial=True,
        description="Li⁺ from a silanol O of one SiO₂ cluster to one of the other, across "
                    "their contact (seed 003, SiO₂/SiO₂: 0.51 eV)"),
}


def path_type(name: str) -> PathType:
    """The named path type; a clear error listing them otherwise."""
    if name not in PATH_TYPES:
        raise InputError(f"unknown path type {name!r}; known: {', '.join(sorted(PATH_TYPES))}",
                         field="path_type")
    return PATH_TYPES[name]


def parse_anchor(text: str) -> tuple[str, int | None]:
    """``'F:3'`` → (``'F'``, 3); ``'F'`` → (``'F'``, None)."""
    site, _, index = str(text).partition(":")
    if not index:
        return site, None
    try:
        return site, int(index)
    except ValueError:
        raise InputError(f"anchor {text!r}: the part after ':' must be an integer index",
                         field="from") from None


def donor_atoms(host: Host, site: str) -> list[int]:
    """Atom index of each anchor of an ``atom`` site."""
    donors = ", ".join(n for n, x in sorted(host.sites.items()) if x.kind == "atom")
    if site not in host.sites:
        raise InputError(f"host {host.name} has no site {site!r}; its donor-atom sites: {donors}")
    s = host.site(site)
    if s.kind != "atom":
        raise InputError(f"site {site!r} of host {host.name} is a {s.kind} site; a hop runs "
                         f"between donor-atom sites ({donors})")
    pos = np.asarray(host.molecule.positions)
    return [int(np.argmin(np.linalg.norm(pos - p, axis=1))) for p in s.points]


def _cone(normal: np.ndarray) -> np.ndarray:
    """The normal, then 8 directions each at 35° and 70° from it (unit vectors)."""
    t = np.cross(normal, [1.0, 0, 0] if abs(normal[0]) < 0.9 else [0, 1.0, 0])
    t /= np.linalg.norm(t)
    b = np.cross(normal, t)
    dirs = [normal]
    for tilt in np.radians([35.0, 70.0]):
        for phi in np.linspace(0, 2 * np.pi, 8, endpoint=False):
            dirs.append(np.cos(tilt) * normal + np.sin(tilt) * (np.cos(phi) * t + np.sin(phi) * b))
    return np.array(dirs)


def ion_positions(host: Host, site: str, interfacial: bool = False
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Ion position (Å) at every anchor of ``site`` and whether a clash-free one exists.

    The ion sits ``ION_DISTANCE`` from its donor along the donor's normal or, where that clashes,
    the first clash-free direction on cones 35° and 70° around it. ``interfacial``: of the
    clash-free directions, the one that brings the ion closest to the other component.
    """
    s = host.site(site)
    donors = donor_atoms(host, site)
    pos = np.asarray(host.molecule.positions)
    comps = _component_ranges(host) if interfacial else []
    ions, ok = [], []
    for k, a in enumerate(donors):
        trial = s.points[k] + ION_DISTANCE * _cone(s.normals[k])
        d = np.linalg.norm(trial[:, None] - pos[None], axis=2)
        d[:, a] = np.inf
        free = np.flatnonzero(d.min(axis=1) >= MIN_CLEARANCE)
        if not len(free):
            ions.append(trial[0])
            ok.append(False)
            continue
        pick = free[0]
        if comps:
            other = next(pos[lo:hi + 1] for lo, hi in comps if not lo <= a <= hi)
            reach = [np.linalg.norm(other - trial[f], axis=1).min() for f in free]
            pick = free[int(np.argmin(reach))]
        ions.append(trial[pick])
        ok.append(True)
    return np.array(ions), np.array(ok)


def anchor_table(host: Host) -> list[tuple[str, int, int, str, bool]]:
    """(site, index, atom index, element, clash-free) of every donor-atom anchor of ``host``."""
    sym = host.molecule.symbols
    rows = []
    for name, s in sorted(host.sites.items()):
        if s.kind != "atom":
            continue
        ok = ion_positions(host, name)[1]
        rows += [(name, k, a, sym[a], bool(ok[k])) for k, a in enumerate(donor_atoms(host, name))]
    return rows


def _component_ranges(host: Host) -> list[tuple[int, int]]:
    """(first, last) atom index of each component of a composite host (``info["components"]``)."""
    ranges = [tuple(v) for v in host.info.get("components", {}).values()]
    if len(ranges) < 2:
        raise InputError(f"host {host.name} is not a composite of two components; interface "
                         "paths need one such as SiO2/PVDF-HFP", field="host")
    return ranges


def choose_anchors(host: Host, from_site: str, to_site: str, from_index: int | None = None,
                   to_index: int | None = None, interfacial: bool = False) -> tuple[int, int]:
    """Anchor indices (into ``from_site`` and ``to_site``) of the hop; rules in the module doc."""
    return _anchor_pair(host, from_site, to_site, from_index, to_index, interfacial)[:2]


def _anchor_pair(host: Host, from_site: str, to_site: str, from_index: int | None,
                 to_index: int | None, interfacial: bool
                 ) -> tuple[int, int, np.ndarray, np.ndarray]:
    """:func:`choose_anchors`, with the two ion positions (Å) it chose them by."""
    ends = []
    for end, site, index in (("from", from_site, from_index), ("to", to_site, to_index)):
        try:
            ions, ok = ion_positions(host, site, interfacial)
        except InputError as exc:
            raise InputError(exc.message, field=end) from None
        if index is not None:
            if not 0 <= index < len(ions):
                raise InputError(f"site {site!r} of host {host.name} has anchors 0.."
                                 f"{len(ions) - 1}, not {index}", field=end)
            if not ok[index]:
                raise InputError(f"anchor {site}:{index} of host {host.name}: an ion "
                                 f"{ION_DISTANCE} Å out from it comes within {MIN_CLEARANCE} Å "
                                 "of another host atom in every direction tried", field=end)
        ends.append((site, index, ions, ok, donor_atoms(host, site)))
    graph = bond_graph(host.molecule.symbols, host.molecule.positions)
    pos = np.asarray(host.molecule.positions)
    near = [pos[lo:hi + 1] for lo, hi in _component_ranges(host)] if interfacial else []
    centre = pos.mean(axis=0)
    (sa, ia, ions_a, ok_a, don_a), (sb, ib, ions_b, ok_b, don_b) = ends

    def at_interface(p: np.ndarray) -> bool:
        return all(np.linalg.norm(c - p, axis=1).min() <= INTERFACE_ANGSTROM for c in near)

    def acceptable(i: int, j: int) -> bool:
        hop = np.linalg.norm(ions_a[i] - ions_b[j])
        return bool(ok_a[i] and ok_b[j] and HOP_RANGE[0] <= hop <= HOP_RANGE[1]
                    and not graph[don_a[i]] & graph[don_b[j]]
                    and (not near or (at_interface(ions_a[i]) and at_interface(ions_b[j]))))

    both_given = ia is not None and ib is not None  # then the user's choice stands
    best: tuple[float, int, int] | None = None
    for i in ([ia] if ia is not None else range(len(ions_a))):
        for j in ([ib] if ib is not None else range(len(ions_b))):
            if don_a[i] == don_b[j] or not (both_given or acceptable(i, j)):
                continue
            score = float(np.linalg.norm((ions_a[i] + ions_b[j]) / 2 - centre))
            if best is None or score < best[0]:
                best = (score, i, j)
    if best is None:
        where = " at the interface" if interfacial else ""
        why = "the given anchors are the same donor atom" if both_given \
            else (f"no pair of anchors of {sa!r} and {sb!r} gives clash-free ion positions "
                  f"{HOP_RANGE[0]}–{HOP_RANGE[1]} Å apart{where} on different, non-geminal "
                  "donors")
        raise InputError(f"host {host.name}: {why}", field="to")
    _, i, j = best
    return i, j, ions_a[i], ions_b[j]


def _mobile_index(guest: Molecule) -> int:
    for i, s in enumerate(guest.symbols):
        if s in MOBILE_IONS:
            return i
    raise InputError(f"guest {guest.name or guest.formula} has no mobile ion "
                     f"({', '.join(MOBILE_IONS)}) to hop", field="guest")


def _guest_at(guest: Molecule, ion: int, point: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Guest positions with its ion at ``point`` and the rest pointing away along ``normal``."""
    g = np.asarray(guest.positions) - np.asarray(guest.positions)[ion]
    if guest.natoms > 1:
        rest = np.delete(g, ion, axis=0).mean(axis=0)
        if np.linalg.norm(rest) > 1e-6:
            g = g @ rotation_onto(rest / np.linalg.norm(rest), normal).T
    return g + point


@dataclass(frozen=True)
class HopEndpoints:
    """Initial and final states (host atoms first), fixed atoms, and the guest's atoms."""

    initial: Molecule
    final: Molecule
    fixed: tuple[int, ...]
    mobile: tuple[int, ...]
    anchors: tuple[str, str]


def hop_endpoints(host: Host, guest: Molecule, from_site: str, to_site: str,
                  from_index: int | None = None, to_index: int | None = None,
                  active_radius: float = 6.0, interfacial: bool = False) -> HopEndpoints:
    """The two unrelaxed states of a hop of ``guest`` between two anchors of ``host``.

    Charge: host + guest; multiplicity: host + guest − 1 (unpaired electrons parallel). Raises
    InputError for an unknown or non-donor site, a bad index, a guest with no mobile ion, or a
    guest that clashes with the host at either end.
    """
    ion = _mobile_index(guest)
    i, j, *ions = _anchor_pair(host, from_site, to_site, from_index, to_index, interfacial)
    hm = host.molecule
    hpos = np.asarray(hm.positions)
    charge, mult = combined_charge_multiplicity(hm, guest)
    states = []
    for end, site, k, ion_pos in (("from", from_site, i, ions[0]), ("to", to_site, j, ions[1])):
        donor = host.site(site).points[k]
        gpos = _guest_at(guest, ion, ion_pos, (ion_pos - donor) / ION_DISTANCE)
        others = np.delete(gpos, ion, axis=0)
        if len(others):
            d = np.linalg.norm(others[:, None] - hpos[None], axis=2)
            sums = np.delete(vdw_radius(guest.symbols), ion)[:, None] + vdw_radius(hm.symbols)
            if (d / sums).min() < 0.5:
                raise InputError(f"guest {guest.name or guest.formula} clashes with host "
                                 f"{host.name} at anchor {site}:{k}; give another anchor",
                                 field=end)
        states.append(Molecule.from_arrays(hm.symbols + guest.symbols, np.vstack([hpos, gpos]),
                                           charge, mult,
                                           name=f"{guest.name or guest.formula}@{host.name}"
                                                f"[{site}:{k}]"))
    dist = np.minimum(np.linalg.norm(hpos - ions[0], axis=1),
                      np.linalg.norm(hpos - ions[1], axis=1))
    fixed = tuple(int(a) for a in np.flatnonzero(dist > active_radius))
    mobile = tuple(range(hm.natoms, hm.natoms + guest.natoms))
    return HopEndpoints(states[0], states[1], fixed, mobile,
                        (f"{from_site}:{i}", f"{to_site}:{j}"))


def carve_hop(ends: HopEndpoints, radius: float, active_radius: float) -> HopEndpoints:
    """The hop cut down to a cluster: the atoms within ``radius`` Å of the ion in either state,
    grown over bonds as an ONIOM region is (no ring, multiple bond or metal bond cut; an H stays
    with its atom), each cut bond capped by a hydrogen along it. The caps and the atoms they
    are bonded to are held fixed with the atoms ``ends`` fixed, so the cluster's frame is the
    host's. For hosts too big for the whole band (two CC3 cages, 337 atoms).

    Raises InputError (field ``carve``) for ``radius`` below ``active_radius`` (a free atom
    would be cut away).
    """
    from dataclasses import replace

    from .engines.oniom import joint_region, layers

    if radius < active_radius:
        raise InputError(f"carve: {radius:g} Å is less than the active radius "
                         f"({active_radius:g} Å): atoms free to move would be cut away",
                         field="carve")
    region = joint_region((ends.initial, ends.final), list(ends.mobile), radius)
    if len(region) == ends.initial.natoms:
        return ends
    cut = [layers(replace(m, model=region)) for m in (ends.initial, ends.final)]
    if cut[0].links != cut[1].links:  # the host's bonds are the same in both states
        raise InputError("carve: the two states' clusters cut different bonds; give a larger "
                         "carve radius", field="carve")
    index = {atom: k for k, atom in enumerate(cut[0].model_atoms)}
    n_kept = len(cut[0].model_atoms)
    fixed = ({index[a] for a in ends.fixed if a in index}
             | {index[inner] for inner, _, _ in cut[0].links}
             | set(range(n_kept, n_kept + len(cut[0].links))))
    states = [replace(c.model, name=f"{m.name} (carved {radius:g} Å)")
              for c, m in zip(cut, (ends.initial, ends.final))]
    return HopEndpoints(states[0], states[1], tuple(sorted(fixed)),
                        tuple(index[a] for a in ends.mobile), ends.anchors)
