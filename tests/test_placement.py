"""Placement: clash-free, distinct, deterministic poses; a campaign that places a guest runs
through FireWorks to per-pose binding energies; unplaceable guests are refused up front."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from screening.engines.gfnff import gfnff_missing
from screening.errors import InputError
from screening.hosts import get_host
from screening.geometry import bond_graph, vdw_radius
from screening.placement import guest_rmsd, place, sample_poses
from screening.species import get_species


def scaled_contact(pose) -> float:
    """Smallest host–guest distance over the sum of van der Waals radii."""
    n = pose.host_atoms
    p, s = np.asarray(pose.molecule.positions), pose.molecule.symbols
    r = vdw_radius(s)
    d = np.linalg.norm(p[:n, None] - p[None, n:], axis=2)
    return float((d / (r[:n, None] + r[None, n:])).min())


@pytest.mark.slow
def test_poses_clash_free_distinct_and_deterministic():
    host = get_host("PVDF-HFP", units=2)
    li = get_species("Li+").molecule()
    poses = place(host, li, ["F"], n_poses=4, keep=3, seed=3)
    again = place(host, li, ["F"], n_poses=4, keep=3, seed=3)
    assert [p.molecule.positions for p in poses] == [p.molecule.positions for p in again]
    assert [p.rank for p in poses] == list(range(1, len(poses) + 1))
    assert all(a.xtb_eV <= b.xtb_eV for a, b in zip(poses, poses[1:]))
    for i, p in enumerate(poses):
        assert scaled_contact(p) > 0.4
        li_pos = np.asarray(p.molecule.positions[-1])
        f = [np.linalg.norm(li_pos - np.asarray(x)) for s, x in
             zip(p.molecule.symbols, p.molecule.positions) if s == "F"]
        assert 1.7 < min(f) < 2.3  # Li+ sits on a fluorine
        for q in poses[i + 1:]:
            assert guest_rmsd(p, q) > 0.5


def test_rigid_candidates_respect_the_clash_filter():
    host = get_host("HKUST-1", cluster="paddlewheel")
    pc = get_species("PC").molecule()
    cands = sample_poses(host, pc, ["open_metal", "exo"], 5, seed=1)
    assert len(cands) == 10
    hp, hr = np.asarray(host.molecule.positions), vdw_radius(host.molecule.symbols)
    gr = vdw_radius(pc.symbols)
    for _site, pos, scale in cands:
        d = np.linalg.norm(pos[:, None] - hp[None], axis=2) / (gr[:, None] + hr[None])
        assert d.min() >= scale >= 0.4


def test_open_metal_poses_alternate_metal_bound_and_random():
    """At an open metal site the first, third, ... candidates put an O or N of the guest
    METAL_DONOR_DISTANCE from the metal with its bonds pointing away; the others are random."""
    from screening.placement import METAL_DONOR_DISTANCE

    host = get_host("HKUST-1", cluster="paddlewheel")
    cu = np.asarray(host.sites["open_metal"].points)
    for name in ("TFSI-", "PC"):
        guest = get_species(name).molecule()
        graph = bond_graph(guest.symbols, guest.positions)
        for k, (_site, pos, _scale) in enumerate(sample_poses(host, guest, ["open_metal"], 4, 7)):
            d = np.linalg.norm(pos[:, None] - cu[None], axis=2).min(axis=1)
            i = int(d.argmin())
            if k % 2:
                assert d[i] > METAL_DONOR_DISTANCE + 0.3, (name, k, d[i])
                continue
            assert guest.symbols[i] in ("O", "N") and d[i] == pytest.approx(METAL_DONOR_DISTANCE)
            assert all(d[j] > d[i] + 0.5 for j in graph[i])  # bonded atoms further out


def test_tfsi_binds_the_paddlewheel_copper_through_an_oxygen():
    """GFN2-xTB ranks a sulfonyl O bound to the axial Cu (2.23 Å) 0.42 eV below the best of
    three random orientations (3.05 Å from Cu): with metal-bound candidates the best of two
    poses is bound."""
    host = get_host("HKUST-1", cluster="paddlewheel")
    best, = place(host, get_species("TFSI-").molecule(), ["open_metal"], n_poses=2, keep=1,
                  seed=7)
    pos = np.asarray(best.molecule.positions)
    n = host.molecule.natoms
    cu = [i for i, s in enumerate(best.molecule.symbols) if s == "Cu"]
    d = np.linalg.norm(pos[n:, None] - pos[cu][None], axis=2).min(axis=1)
    assert best.molecule.symbols[n + int(d.argmin())] == "O" and d.min() < 2.5, d.min()


def test_guest_that_fits_nowhere_is_refused():
    host = get_host("CC3")
    with pytest.raises(InputError, match="cannot be placed at site 'endo' of host CC3"):
        sample_poses(host, host.molecule, ["endo"], 1)


def campaign_text(extra: str = "") -> str:
    return f"""name: placed
method: {{preset: screening, basis: sto-3g}}
counterpoise: true
quantities:
  - {{name: Li+ on CH3CHF2, kind: binding, host: {{name: PVDF-HFP, units: 1, hfp_units: 0}},
     guest: Li+, sites: F, poses: 3, keep: 2{extra}}}
"""


@pytest.mark.slow
def test_placement_campaign_through_fireworks(workdir):
    (workdir / "c.yaml").write_text(campaign_text())
    cmd = [sys.executable, "-m", "screening.cli", "run", "c.yaml"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "poses kept" in first.stdout
    import pandas as pd

    table = pd.read_csv(workdir / "results" / "placed" / "quantities.csv")
    assert len(table) >= 1 and table["quantity"].str.contains(r"\[F #1\]").any()
    assert table["missing"].isna().all()
    # Li+ on one C-F: bound, by less than Li+-water (-1.6 eV at good levels) times two
    assert ((table["value_eV"] < -0.3) & (table["value_eV"] > -3.5)).all()
    assert (table["bsse_eV"] > 0).all()
    from screening.store import ResultStore

    store = ResultStore(str(workdir / "results" / "screening.db"))
    n = store.count()
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0 and "already stored, 0 to compute" in second.stdout
    assert store.count() == n  # nothing placed or computed twice
    again = pd.read_csv(workdir / "results" / "placed" / "quantities.csv")
    assert np.allclose(again["value_eV"], table["value_eV"], atol=1e-8)


@pytest.mark.slow
def test_bad_placement_campaigns_exit_2_and_write_nothing(workdir):
    bad = {
        "host": campaign_text().replace("name: PVDF-HFP", "name: CC9"),
        "site": campaign_text().replace("sites: F", "sites: endo"),
        "cluster": campaign_text().replace("{name: PVDF-HFP, units: 1, hfp_units: 0}",
                                           "{name: HKUST-1, cluster: huge}"),
    }
    expect = {"host": "host.yaml:5: quantities[0].host: unknown host 'CC9'",
              "site": "site.yaml:6: quantities[0].sites: host PVDF-HFP_1-0 has no site 'endo'",
              "cluster": "cluster.yaml:5: quantities[0].host: HKUST-1 has no cluster model 'huge'"}
    cc3 = Path(__file__).resolve().parent.parent / "screening" / "data" / "hosts" / "CC3.xyz"
    bad["fits"] = f"""name: nofit
method: screening
structures:
  big: {{file: {cc3}}}
quantities:
  - {{name: cage in cage, kind: binding, host: CC3, guest: big, sites: endo}}
"""
    expect["fits"] = ("fits.yaml:6: quantities[0].guest: guest big cannot be placed at site "
                      "'endo' of host CC3 without clashes")
    for what, text in bad.items():
        (workdir / f"{what}.yaml").write_text(text)
        r = subprocess.run([sys.executable, "-m", "screening.cli", "run", f"{what}.yaml"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 2, r.stderr
        assert expect[what] in r.stderr
    assert not (workdir / "results").exists()


def test_validate_runs_no_xtb_and_writes_nothing(workdir, monkeypatch):
    """`screening validate` on a placement in CC3 and on an uncached oligomer: no GFN2-xTB (a
    tblite calculator refuses to be made), no file written anywhere, the placement listed."""
    import tblite.ase

    from screening.cli import main

    def refuse(*_a, **_k):
        raise AssertionError("validate ran GFN2-xTB")

    monkeypatch.setattr(tblite.ase.TBLite, "__init__", refuse)
    cache = workdir / "cache"
    monkeypatch.setenv("SCREENING_CACHE_DIR", str(cache))
    (workdir / "c.yaml").write_text("""name: check
method: screening
quantities:
  - {name: TFSI- in CC3, kind: binding, host: CC3, guest: TFSI-, sites: [endo, window]}
  - {name: Li+ on PVDF-HFP, kind: binding, host: {name: PVDF-HFP, units: 3, hfp_units: 0},
     guest: PC, sites: F}
""")
    assert main(["validate", "c.yaml"]) == 0
    assert sorted(p.name for p in workdir.rglob("*")) == ["c.yaml"]
    with pytest.raises(AssertionError, match="ran GFN2-xTB"):  # the guard itself works
        main(["run", "c.yaml"])


def test_poses_relaxed_side_by_side_are_the_same_poses():
    """Candidate poses relaxed by two spawned processes give the same poses, to the last bit,
    as one after another (each relaxation runs on one thread)."""
    from screening.settings import current_settings, use_settings

    host = get_host("PVDF-HFP", units=1, hfp_units=0)
    li = get_species("Li+").molecule()
    runs = []
    for workers in (1, 2):
        with use_settings(current_settings().replace(workers=workers)):
            runs.append(place(host, li, ["F"], n_poses=3, keep=3, seed=3))
    assert len(runs[0]) == len(runs[1]) >= 1
    for a, b in zip(*runs):
        assert a.xtb_eV == b.xtb_eV
        assert np.array_equal(np.asarray(a.molecule.positions), np.asarray(b.molecule.positions))


def test_funnel_relaxes_only_the_shortlist_to_the_ranking_threshold():
    """With ``screen_fmax`` all candidates stop at the loose threshold, only the best 2 × keep go
    on; the pose kept is a minimum to RANK_FMAX and matches the best pose of the full search."""
    from screening.engines.xtb import xtb_energy
    from screening.placement import RANK_FMAX

    host = get_host("PVDF-HFP", units=1, hfp_units=0)
    li = get_species("Li+").molecule()
    lines: list[str] = []
    funnel = place(host, li, ["F"], n_poses=6, keep=1, seed=3, screen_fmax=0.4,
                   progress=lines.append)
    assert any("funnel: the 2 best distinct of" in line for line in lines), lines
    full = place(host, li, ["F"], n_poses=6, keep=1, seed=3)
    assert abs(funnel[0].xtb_eV - full[0].xtb_eV) < 0.05
    _, grad = xtb_energy(funnel[0].molecule, gradient=True)
    forces = np.linalg.norm(grad, axis=1) * 51.422  # Eh/Bohr -> eV/Å
    free = range(host.molecule.natoms if host.frozen else 0, funnel[0].molecule.natoms)
    assert forces[list(free)].max() <= RANK_FMAX * 1.01


def test_tric_relaxes_poses_as_far_and_no_higher_than_bfgs():
    """geomeTRIC (TRIC coordinates) stops at the same force threshold on every free atom, and
    its best pose lies no higher than BFGS's (it moves the guest as a body); frozen atoms stay
    exactly where they were."""
    from screening.engines.xtb import xtb_energy, xtb_relaxed
    from screening.placement import RANK_FMAX

    host = get_host("PVDF-HFP", units=1, hfp_units=0)
    li = get_species("Li+").molecule()
    tric = place(host, li, ["F"], n_poses=3, keep=1, seed=3, optimizer="tric")
    bfgs = place(host, li, ["F"], n_poses=3, keep=1, seed=3)
    assert tric[0].xtb_eV < bfgs[0].xtb_eV + 0.02
    _, grad = xtb_energy(tric[0].molecule, gradient=True)
    assert (np.linalg.norm(grad, axis=1) * 51.422).max() <= RANK_FMAX * 1.01  # eV/Å
    start = tric[0].molecule
    moved = start.__class__.from_arrays(start.symbols, np.asarray(start.positions)
                                        + np.r_[np.zeros((start.natoms - 1, 3)),
                                                [[0.6, 0.0, 0.0]]], start.charge,
                                        start.multiplicity)
    held = list(range(host.molecule.natoms))
    relaxed, _ = xtb_relaxed(moved, 0.1, 100, fixed=held, optimizer="tric")
    assert np.array_equal(np.asarray(relaxed.positions)[held], np.asarray(moved.positions)[held])
    assert np.linalg.norm(np.asarray(relaxed.positions)[-1] - np.asarray(start.positions)[-1]) \
        < 0.3  # Li+ went back to its site


def test_unknown_optimizer_is_refused(workdir):
    from screening.campaign import load_campaign

    (workdir / "o.yaml").write_text(campaign_text(", optimizer: lbfgs"))
    with pytest.raises(InputError, match=r"o.yaml:\d+: quantities\[0\]\.optimizer: unknown "
                                         r"optimizer 'lbfgs'; use one of bfgs, tric"):
        load_campaign(workdir / "o.yaml", check_only=True)
    from screening.engines.xtb import xtb_relaxed

    with pytest.raises(ValueError, match="unknown optimizer 'fire'"):  # no silent BFGS
        xtb_relaxed(get_species("Li+").molecule(), optimizer="fire")


needs_xtb = pytest.mark.skipif(gfnff_missing() is not None, reason=str(gfnff_missing()))


@needs_xtb
def test_gfnff_prerelaxation_is_quiet_repeatable_and_holds_frozen_atoms(tmp_path, monkeypatch,
                                                                       capfd):
    """GFN-FF relaxes a TFSI⁻ stretched by 4 % on a held CH₃CHF₂ back to its bond lengths (host
    atoms exactly still, the anion's bonds kept), with the charge on the anion (which changes
    the result),
    gives the same geometry with one worker or two, prints nothing and leaves no topology file
    behind; a molecule it cannot take (atoms on top of each other) comes back as a reason."""
    from screening.engines.gfnff import ff_relax_all

    monkeypatch.chdir(tmp_path)
    host = get_host("PVDF-HFP", units=1, hfp_units=0)
    tfsi = get_species("TFSI-").molecule()
    pose = place(host, tfsi, ["F"], n_poses=1, keep=1, seed=3, relax=False)[0].molecule
    n = host.molecule.natoms
    held, anion = list(range(n)), range(n, pose.natoms)
    pos = np.asarray(pose.positions, dtype=float)
    centre = pos[n:].mean(axis=0)
    stretched = np.r_[pos[:n], centre + 1.04 * (pos[n:] - centre)]
    pushed = pose.__class__.from_arrays(pose.symbols, stretched, pose.charge, pose.multiplicity)
    one = ff_relax_all([pushed, pushed], held, workers=1, charged=anion)
    two = ff_relax_all([pushed], held, workers=2, charged=anion)
    host_charged, = ff_relax_all([pushed], held)
    got, was = np.asarray(one[0].positions), np.asarray(pushed.positions)
    assert np.array_equal(got, np.asarray(one[1].positions))
    assert np.array_equal(got, np.asarray(two[0].positions))
    assert np.array_equal(got[held], was[held])
    graph = bond_graph(tfsi.symbols, pos[n:])
    assert bond_graph(tfsi.symbols, got[n:]) == graph

    def bond_lengths(xyz: np.ndarray) -> np.ndarray:
        return np.array([np.linalg.norm(xyz[i] - xyz[j]) for i in range(len(xyz))
                         for j in graph[i] if j > i])

    ref = bond_lengths(pos[n:])  # the library's GFN2-xTB TFSI⁻
    before, after = (np.abs(bond_lengths(x[n:]) - ref) for x in (was, got))
    assert after.mean() < 0.5 * before.mean()
    assert after.max() < 0.05  # Å: GFN-FF's S=O and S-N sit up to 0.04 Å longer than GFN2-xTB's
    assert not np.allclose(got, np.asarray(host_charged.positions), atol=1e-3)
    assert list(tmp_path.iterdir()) == []
    assert capfd.readouterr().out == ""
    piled = pose.__class__.from_arrays(["O", "O"], [[0, 0, 0], [0, 0, 0.0]], 0, 1)
    failed, = ff_relax_all([piled], None)
    assert isinstance(failed, str) and failed.startswith("GFN-FF failed")


@needs_xtb
@pytest.mark.parametrize("option, candidates, says, ranked", [
    ("prerelax", 3, "pre-relaxing 3 candidate poses with GFN-FF", 3),
    ("screen", 4, "4 candidates scored by GFN2-xTB single points at their GFN-FF geometries",
     4 + 2),
])
def test_gfnff_search_ranks_no_higher_than_the_plain_one(option, candidates, says, ranked):
    """``prerelax="gfn-ff"``: every candidate relaxed with GFN-FF, then with GFN2-xTB.
    ``screen="gfn-ff"``: every candidate relaxed with GFN-FF and scored by a GFN2-xTB single
    point, and only the best 2 × keep = 2 relaxed with GFN2-xTB. Each says so, ends at the
    ranking threshold, finds a best pose no higher (GFN2-xTB) than the search without it, and
    changes the placement key only where it is set."""
    from dataclasses import replace

    from screening.engines.xtb import xtb_energy
    from screening.placement import RANK_FMAX
    from screening.specs import PlacementSpec

    host = get_host("PVDF-HFP", units=1, hfp_units=0)
    pc = get_species("PC").molecule()
    lines: list[str] = []
    ff = place(host, pc, ["F"], n_poses=candidates, keep=1, seed=3, progress=lines.append,
               **{option: "gfn-ff"})
    plain = place(host, pc, ["F"], n_poses=candidates, keep=1, seed=3)
    assert any(says in line for line in lines), lines
    assert sum("GFN2-xTB rank energy" in line for line in lines) == ranked, lines
    assert ff[0].xtb_eV < plain[0].xtb_eV + 0.05
    _, grad = xtb_energy(ff[0].molecule, gradient=True)
    assert (np.linalg.norm(grad, axis=1) * 51.422).max() <= RANK_FMAX * 1.01  # eV/Å
    spec = PlacementSpec("PVDF-HFP", (("units", 1),), pc, ("F",), host_molecule=host.molecule)
    searched = replace(spec, **{option: "gfn-ff"})
    assert option not in spec.to_dict() and searched.key() != spec.key()
    assert PlacementSpec.from_dict(searched.to_dict()).key() == searched.key()
    assert replace(spec, prerelax="gfn-ff").key() != replace(spec, screen="gfn-ff").key()


@needs_xtb
@pytest.mark.parametrize("extra, words", [
    (", prerelax: uff", r"prerelax: unknown force field 'uff'; use one of gfn-ff"),
    (", screen: uff", r"screen: unknown force field 'uff'; use one of gfn-ff"),
    (", prerelax: gfn-ff, relax: false", r"prerelax: prerelax needs relaxed poses"),
    (", screen: gfn-ff, relax: false", r"screen: screen needs relaxed poses"),
    (", screen: gfn-ff", r"screen: GFN-FF pulls a bare ion onto the host"),
    (", prerelax: gfn-ff", r"prerelax: GFN-FF pulls a bare ion onto the host"),
    (", prerelax: gfn-ff", r"prerelax: GFN-FF gives the whole charge to one molecule; this "
                           r"complex has 2 charged ones \(charges \+1, -1\)"),
])
def test_bad_prerelaxation_is_refused(workdir, extra, words):
    from screening.campaign import load_campaign

    text = campaign_text(extra)
    if "2 charged" in words:
        text = text.replace("guest: Li+", "guests: [Li+, TFSI-]")
    (workdir / "p.yaml").write_text(text)
    with pytest.raises(InputError, match=r"p.yaml:\d+: quantities\[0\]\." + words):
        load_campaign(workdir / "p.yaml", check_only=True)


@needs_xtb
@pytest.mark.parametrize("extra, clash", [(", screen: gfn-ff, screen_fmax: 0.3", "screen_fmax"),
                                          (", screen: gfn-ff, prerelax: gfn-ff", "prerelax")])
def test_force_field_funnel_beside_another_first_stage_is_refused(workdir, extra, clash):
    """``screen: gfn-ff`` is a funnel's first stage and relaxes every candidate with GFN-FF:
    another first stage (``screen_fmax``) or ``prerelax`` beside it is refused at its line."""
    from screening.campaign import load_campaign

    (workdir / "s.yaml").write_text(campaign_text(extra).replace("guest: Li+", "guest: PC"))
    with pytest.raises(InputError, match=r"s.yaml:\d+: quantities\[0\]\.screen: screen: gfn-ff "
                                         rf"is the funnel's first stage .*; drop {clash}"):
        load_campaign(workdir / "s.yaml", check_only=True)


def test_screen_fmax_tighter_than_ranking_is_refused(workdir):
    from screening.campaign import load_campaign

    (workdir / "f.yaml").write_text(campaign_text(", screen_fmax: 0.05"))
    with pytest.raises(InputError, match=r"f.yaml:\d+: quantities\[0\]\.screen_fmax: "
                                         r"screen_fmax must be looser"):
        load_campaign(workdir / "f.yaml")


def test_keeping_more_poses_than_are_made_is_refused(workdir):
    from screening.campaign import load_campaign

    (workdir / "k.yaml").write_text(campaign_text().replace("keep: 2", "keep: 4"))
    with pytest.raises(InputError, match=r"k.yaml:\d+: quantities\[0\]\.keep: keep: 4 is more "
                                         r"than the 3 candidate poses made"):
        load_campaign(workdir / "k.yaml", check_only=True)
    (workdir / "d.yaml").write_text(campaign_text().replace(", keep: 2", "").replace(
        "poses: 3", "poses: 2"))  # the default keep (3) falls to the 2 made
    placement, = load_campaign(workdir / "d.yaml", check_only=True).quantities[0].placements
    assert placement.keep == 2


def test_funnel_and_optimizer_are_part_of_the_placement_key_only_when_set():
    from dataclasses import replace

    from screening.specs import PlacementSpec

    host = get_host("PVDF-HFP", units=1, hfp_units=0)
    spec = PlacementSpec("PVDF-HFP", (("units", 1),), get_species("Li+").molecule(), ("F",),
                         host_molecule=host.molecule)
    funnel = replace(spec, screen_fmax=0.3)
    assert "screen_fmax" not in spec.to_dict()
    assert funnel.key() != spec.key() != replace(spec, screen_fmax=0.4).key()
    back = PlacementSpec.from_dict(funnel.to_dict())
    assert back.screen_fmax == 0.3 and back.key() == funnel.key()
    assert PlacementSpec.from_dict(spec.to_dict()).key() == spec.key()
    tric = replace(spec, optimizer="tric")
    assert "optimizer" not in spec.to_dict() and tric.key() != spec.key()
    assert PlacementSpec.from_dict(tric.to_dict()).optimizer == "tric"
