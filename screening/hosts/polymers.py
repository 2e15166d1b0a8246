"""Polymer fragments and silica: oligomers of the seed polymers, a hydroxylated SiO₂ cluster, and
the SiO₂ / PVDF-HFP interface model of seed 003.

Oligomers are built from SMILES with H caps at both ends, H–[CH₂–CH(R)]ₙ–H for the acrylates
and H–[CH₂–CF₂]ₙ–[CF₂–CF(CF₃)]ₘ–H for PVDF-HFP, embedded with RDKit ETKDG (seed 7) and
relaxed with MMFF94 (lowest of a few conformers; the tacticity is whatever the embedding gives,
recorded in the cached file by its geometry), then with GFN2-xTB, the level the poses are
relaxed at, so host deformation energies compare like with like. Acrylate side chains (seed 004):

* DOA  (2-oxo-1,3-dioxolan-4-yl)methyl acrylate; PCEA 2-((propoxycarbonyl)oxy)ethyl acrylate;
* AEEO 2-(acryloyloxy)ethyl ethyl oxalate; AAPC 2-acrylamidoethyl propyl carbonate;
* AAEO 2-acrylamidoethyl ethyl oxalate.

Silica: α-quartz (P3₂21, a = 4.913 Å, c = 5.405 Å; Si (0.4697, 0, 2/3), O (0.4135, 0.2669,
0.1191 + 2/3) in ASE's setting) carved to the n Si atoms nearest a centre with every cut Si–O
bond capped as a silanol: a neutral, closed-shell hydroxylated cluster.
"""

from __future__ import annotations


from ..errors import InputError
from ..geometry import Molecule
from ..specs import Host
from .analysis import surface_and_donor_sites
from .cache import checking, read_cached, write_cached, xtb_relaxed_host

SIDE_CHAINS = {
    "P(DOA)": "C(=O)OCC1COC(=O)O1",
    "P(PCEA)": "C(=O)OCCOC(=O)OCCC",
    "P(AEEO)": "C(=O)OCCOC(=O)C(=O)OCC",
    "P(AAPC)": "C(=O)NCCOC(=O)OCCC",
    "P(AAEO)": "C(=O)NCCOC(=O)C(=O)OCC",
}
VDF = "CC(F)(F)"
HFP = "C(F)(F)C(F)(C(F)(F)F)"
MAX_UNITS = 12


def oligomer_smiles(polymer: str, units: int, hfp_units: int = 1) -> str:
    """SMILES of an H-capped oligomer with ``units`` repeat units (VDF units for PVDF-HFP)."""
    if not 1 <= units <= MAX_UNITS:
        raise InputError(f"{polymer}: units must be 1..{MAX_UNITS}, got {units}", field="units")
    if polymer == "PVDF-HFP":
        if not 0 <= hfp_units <= 4:
            raise InputError(f"PVDF-HFP: hfp_units must be 0..4, got {hfp_units}",
                             field="hfp_units")
        return VDF * units + HFP * hfp_units
    return "".join(f"CC({SIDE_CHAINS[polymer]})" for _ in range(units))


def oligomer(polymer: str, units: int = 4, hfp_units: int = 1, seed: int = 7) -> Host:
    """An oligomer host (cached, see :mod:`.cache`), sites on its donor atoms and surface."""
    from ..species import build_from_smiles

    smiles = oligomer_smiles(polymer, units, hfp_units)
    recipe = {"smiles": smiles, "seed": seed,
              "method": "RDKit ETKDGv3 + MMFF94, 4 conformers, GFN2-xTB fmax 0.05"}
    name = f"{polymer}_{units}" + (f"-{hfp_units}" if polymer == "PVDF-HFP" else "")
    cached = read_cached(name, recipe)
    if cached is not None:
        mol = cached[0]
    else:
        mol = build_from_smiles(smiles, seed=seed, n_conformers=4, name=name)[0]
        mol = xtb_relaxed_host(mol)
        write_cached(name, recipe, mol, "RDKit ETKDGv3 seed 7 + MMFF94, GFN2-xTB")
    mol = Molecule(mol.symbols, mol.positions, 0, 1, name=name)
    info = {"source": "RDKit ETKDGv3 + MMFF94 (lowest of 4 conformers), GFN2-xTB relaxed",
            "smiles": smiles,
            "charge": 0, "multiplicity": 1, "units": units}
    return Host(name, mol, surface_and_donor_sites(mol), info)


def quartz():
    """α-quartz conventional cell as a pymatgen Structure (via ASE's space-group 154 setting)."""
    from ase.spacegroup import crystal
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = crystal(["Si", "O"], basis=[(0.4697, 0.0, 2 / 3), (0.4135, 0.2669, 0.1191 + 2 / 3)],
                    spacegroup=154, cellpar=[4.913, 4.913, 5.405, 90, 90, 120])
    return AseAtomsAdaptor.get_structure(atoms)


def silica_cluster(silicons: int = 8) -> Host:
    """Hydroxylated SiO₂ cluster: the ``silicons`` Si nearest a Si of α-quartz, silanol caps."""
    from .mofs import carve

    if not 2 <= silicons <= 40:
        raise InputError(f"SiO2: silicons must be 2..40, got {silicons}", field="silicons")
    s = quartz()
    if len(s) != 9 or s.composition.reduced_formula != "SiO2":
        raise InputError(f"α-quartz cell came out as {s.composition.formula}")
    centre = s[0].frac_coords
    mol, book = carve(s, centre, silicons, {"Si": 4}, {"O": -2}, "protonate",
                      f"SiO2-{silicons}Si")
    info = {"source": "α-quartz carved by screening.hosts.mofs.carve, silanol caps", **book}
    return Host(mol.name, mol, surface_and_donor_sites(mol), info, frozen=True)


def interface(units: int = 4, silicons: int = 8) -> Host:
    """SiO₂ / PVDF-HFP interface model (seed 003): the oligomer laid on the silica cluster.

    Built once by placing the oligomer as a guest at the cluster's surface (best of the
    GFN2-xTB-ranked poses, silica frozen) and cached; see :mod:`screening.placement`.
    """
    silica, chain = silica_cluster(silicons), oligomer("PVDF-HFP", units, 1).molecule
    recipe = {"silica": silica.molecule.key(), "chain": chain.key(),
              "method": "placement exo, 6 poses, GFN2-xTB, silica frozen"}
    return laid_on(silica, chain, f"SiO2-PVDF-HFP_{units}-{silicons}", ("SiO2", "PVDF-HFP"),
                   recipe)


def silica_pair(silicons: int = 8) -> Host:
    """Two hydroxylated SiO₂ clusters in contact (seed 003's SiO₂/SiO₂ path): the second cluster
    laid on the first as :func:`interface` lays the chain (the first frozen, the second relaxed
    with GFN2-xTB), so that their silanols meet."""
    first = silica_cluster(silicons)
    recipe = {"base": first.molecule.key(), "top": first.molecule.key(),
              "method": "placement exo, 6 poses, GFN2-xTB, base frozen"}
    return laid_on(first, first.molecule, f"SiO2-pair_{silicons}", ("SiO2(1)", "SiO2(2)"),
                   recipe)


def laid_on(base: Host, top: Molecule, name: str, components: tuple[str, str],
            recipe: dict) -> Host:
    """A two-component host: ``top`` placed on ``base``'s outer surface (6 poses, GFN2-xTB,
    ``base`` frozen, the best kept), cached under ``name`` with ``recipe``;
    ``info["components"]`` names the atoms of each (``base`` first)."""
    from .. import placement

    cached = read_cached(name, recipe)
    if cached is not None:
        mol = cached[0]
    else:
        if checking():  # the best rigid pose, not relaxed: enough to check names and fits
            _, gpos, _ = placement.sample_poses(base, top, ["exo"], 1, seed=7)[0]
            mol = Molecule.from_arrays(base.molecule.symbols + top.symbols,
                                       [*base.molecule.positions, *gpos], 0, 1, name=name)
        else:
            poses = placement.place(base, top, ["exo"], n_poses=6, keep=1, seed=7)
            mol = Molecule(poses[0].molecule.symbols, poses[0].molecule.positions, 0, 1,
                           name=name)
        write_cached(name, recipe, mol, f"{' + '.join(components)}, GFN2-xTB")
    mol = Molecule(mol.symbols, mol.positions, 0, 1, name=name)
    n = base.molecule.natoms
    info = {"source": f"{components[1]} placed on {components[0]} and relaxed with GFN2-xTB "
                      f"({components[0]} frozen)",
            "components": {components[0]: [0, n - 1], components[1]: [n, mol.natoms - 1]},
            "charge": 0, "multiplicity": 1}
    return Host(name, mol, surface_and_donor_sites(mol), info, frozen=True)


def _oligomer_builder(polymer: str):
    def build(units: int = 4, hfp_units: int = 1, seed: int = 7) -> Host:
        return oligomer(polymer, units, hfp_units, seed)

    build.__doc__ = f"{polymer} oligomer with H caps."
    return build


HOSTS = {
    **{p: (_oligomer_builder(p), f"acrylate oligomer, side chain {sc}")
       for p, sc in SIDE_CHAINS.items()},
    "PVDF-HFP": (_oligomer_builder("PVDF-HFP"), "H-(CH2CF2)n-(CF2CF(CF3))m-H oligomer"),
    "SiO2": (silica_cluster, "hydroxylated silica cluster carved from alpha-quartz"),
    "SiO2/PVDF-HFP": (interface, "PVDF-HFP oligomer on a hydroxylated silica cluster"),
    "SiO2-pair": (silica_pair, "two hydroxylated silica clusters in contact"),
}
