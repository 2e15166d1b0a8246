"""Barriers: CI-NEB against a saddle-point search, restart after a kill, DFT//xTB, bad endpoints."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ase.units import Hartree

from screening import api
from screening.cli import main
from screening.engines.pyscf import compute, optimize
from screening.geometry import Molecule
from screening.methods import get_method
from screening.neb import PathSpec
from screening.pipeline.stored import compute_path
from screening.store import ResultStore

from .conftest import ROOT, write_xyz_text

METHOD = {"preset": "screening", "dispersion": None}
NH3 = (["N", "H", "H", "H"], [[0, 0, 0.12], [0.94, 0, -0.27], [-0.47, 0.814, -0.27],
                              [-0.47, -0.814, -0.27]])


def nh3_pair(folder: Path) -> tuple[Path, Path]:
    """Pyramidal NH3 and its mirror image through the xy plane (both unrelaxed)."""
    inverted = [[x, y, -z] for x, y, z in NH3[1]]
    return (write_xyz_text(folder / "nh3_up.xyz", NH3[0], NH3[1]),
            write_xyz_text(folder / "nh3_down.xyz", NH3[0], inverted))


def nh3_campaign(folder: Path, mode: str = "dft") -> Path:
    nh3_pair(folder)
    path = folder / "nh3.yaml"
    path.write_text(f"""name: nh3
method: {{preset: screening, dispersion: null}}
structures:
  up: {{file: nh3_up.xyz}}
  down: {{file: nh3_down.xyz}}
quantities:
  - {{name: NH3 inversion, kind: barrier, initial: up, final: down, images: 3,
     relax_endpoints: true, mode: {mode}}}
""")
    return path


@pytest.fixture(scope="module")
def saddle_barrier() -> float:
    """NH3 inversion barrier (eV) from geomeTRIC: D3h saddle relaxed within its symmetry
    (the gradient keeps a planar NH3 planar) minus the relaxed pyramidal minimum."""
    meth = get_method(METHOD)
    _, e_min = optimize(Molecule.from_arrays(*NH3), meth)
    planar = Molecule.from_arrays(NH3[0], [[0, 0, 0], [1.0, 0, 0], [-0.5, 0.866, 0],
                                           [-0.5, -0.866, 0]])
    _, e_ts = optimize(planar, meth)
    return (e_ts - e_min) * Hartree


@pytest.mark.slow
def test_nh3_inversion_matches_saddle_search(tmp_path, saddle_barrier):
    """CI-NEB barrier = saddle-point search at the same level (B3LYP/def2-SVP) within 5 meV;
    both near experiment (≈ 0.25 eV)."""
    up, down = (Molecule.from_arrays(*NH3), Molecule.from_arrays(
        NH3[0], [[x, y, -z] for x, y, z in NH3[1]]))
    spec = PathSpec("NH3 inversion", up, down, images=3, relax_endpoints=True)
    store = ResultStore(tmp_path / "r.db")
    result = compute_path(spec, get_method(METHOD), store, tmp_path / "band")
    assert result.status == "converged" and result.max_force_eV_A < 0.05
    assert result.forward_eV == pytest.approx(saddle_barrier, abs=0.005)
    assert result.reverse_eV == pytest.approx(result.forward_eV, abs=0.005)  # symmetric path
    assert saddle_barrier == pytest.approx(0.25, abs=0.05)
    assert result.climbing_image == 2
    # the path record and every final image are in the results database
    assert store.get_path(result.path_key)["forward_eV"] == result.forward_eV
    assert store.count() == 5


@pytest.mark.slow
def test_killed_neb_resumes_from_saved_band(tmp_path, saddle_barrier):
    campaign = nh3_campaign(tmp_path)
    env = {"PYTHONPATH": str(ROOT), "SCREENING_THREADS": "1", "PATH": "/usr/bin:/bin",
           "SCREENING_CACHE_DIR": str(tmp_path / "cache")}  # its SCF checkpoints, not the user's
    cmd = [sys.executable, "-m", "screening.cli", "run", str(campaign)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    states = list(tmp_path.glob("results/nh3/paths/*/state.json"))
    deadline = time.time() + 300
    while time.time() < deadline:
        states = list(tmp_path.glob("results/nh3/paths/*/state.json"))
        if states and '"step": 2' in states[0].read_text():
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert states, "the band was never saved"
    first = proc.stdout.read().decode()  # the endpoints' DFT single points, each announced
    assert re.search(r"started .* :: initial \(4 atoms\) at \d\d:\d\d:\d\d", first), first
    assert re.search(r":: final: E = -56\.\d{8} Eh \(\d+\.\d s\)", first), first
    again = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "resuming from the band saved at step" in again.stdout
    table = pd.read_csv(tmp_path / "results/nh3/quantities.csv")
    assert table.loc[0, "status"] == "converged"
    assert table.loc[0, "value_eV"] == pytest.approx(saddle_barrier, abs=0.005)
    assert (tmp_path / "results/nh3/path_NH3_inversion.png").stat().st_size > 5000


@pytest.mark.slow
def test_dft_on_xtb_path(tmp_path, saddle_barrier):
    """Band converged with GFN2-xTB, images re-evaluated with DFT: labelled, and close to the
    DFT saddle (the xTB and DFT inversion paths are nearly the same geometry)."""
    table = api.run_campaign(nh3_campaign(tmp_path, mode="xtb-path"), db=tmp_path / "r.db",
                             store=tmp_path / "s.json", output=tmp_path / "out", progress=False)
    row = table.iloc[0]
    assert row["method"] == "B3LYP/def2-SVP (grid 1)//GFN2-xTB"
    assert row["status"] == "converged"
    assert row["value_eV"] == pytest.approx(saddle_barrier, abs=0.05)


@pytest.mark.slow
def test_li_hop_between_fixed_waters(tmp_path):
    """Li⁺ hops between two fixed, collinear waters; by symmetry the saddle is the midpoint."""
    d = 5.0
    waters = [("O", 0, 0, 0), ("H", -0.587, 0.757, 0), ("H", -0.587, -0.757, 0),
              ("O", d, 0, 0), ("H", d + 0.587, 0.757, 0), ("H", d + 0.587, -0.757, 0)]

    def xyz(name: str, li_x: float) -> Molecule:
        atoms = [("Li", li_x, 0, 0)] + waters
        write_xyz_text(tmp_path / name, [a[0] for a in atoms], [a[1:] for a in atoms], charge=1)
        return Molecule.from_arrays([a[0] for a in atoms], [a[1:] for a in atoms], 1, 1)

    xyz("a.xyz", 1.9)
    xyz("b.xyz", d - 1.9)
    mid = xyz("mid.xyz", d / 2)
    (tmp_path / "hop.yaml").write_text("""name: hop
method: screening
structures:
  A: {file: a.xyz, charge: 1}
  B: {file: b.xyz, charge: 1}
quantities:
  - {name: Li+ hop, kind: barrier, initial: A, final: B, images: 3, fixed: "1-6"}
""")
    table = api.run_campaign(tmp_path / "hop.yaml", db=tmp_path / "r.db",
                             store=tmp_path / "s.json", output=tmp_path / "out", progress=False)
    meth = get_method("screening")
    store = ResultStore(tmp_path / "r.db")
    e_a = store.energies([f"{Molecule.from_arrays(*_li(1.9, waters)).key()}-{meth.key()}"])
    e_mid = compute(mid, meth).energy
    expected = (e_mid - list(e_a.values())[0]) * Hartree
    row = table.iloc[0]
    assert row["value_eV"] == pytest.approx(expected, abs=1e-3)
    assert row["reverse_eV"] == pytest.approx(row["value_eV"], abs=1e-3)
    assert 0.02 < row["value_eV"] < 0.3


def test_an_xtb_band_converged_at_one_tier_starts_the_next(tmp_path):
    """A GFN2-xTB band (mode xtb-path) converged for one method starts the same path at another
    (a campaign's next tier): that run says so, is converged at its first evaluation, keeps the
    first band's
    images and computes only its own DFT single points. A path whose ends differ does not take
    it."""
    up, down = (Molecule.from_arrays(NH3[0], pos) for pos in
                (NH3[1], [[x, y, -z] for x, y, z in NH3[1]]))
    spec = PathSpec("NH3 inversion", up, down, images=3, mode="xtb-path", prerelax=True)
    store = ResultStore(tmp_path / "r.db")
    first = compute_path(spec, get_method(METHOD), store, tmp_path / "a")
    lines: list[str] = []
    sto3g = get_method({**METHOD, "basis": "sto-3g"})
    second = compute_path(spec, sto3g, store, tmp_path / "b", progress=lines.append)
    assert first.steps > 0 and first.status == second.status == "converged"
    assert "NH3 inversion: starting from the GFN2-xTB band converged at another tier" in lines
    # one evaluation of the band it starts from (the step count includes the first), converged
    assert second.steps == 1 and second.max_force_eV_A < spec.fmax
    assert sum(": step " in line for line in lines) == 1, lines
    assert np.allclose([i["positions"] for i in second.images],
                       [i["positions"] for i in first.images], atol=1e-9)
    assert sum(line.startswith("  started ") for line in lines) == 2 + 3  # its DFT single points
    assert 0.05 < second.forward_eV < 1.0 and second.forward_eV != first.forward_eV
    bent = replace(spec, initial=Molecule.from_arrays(NH3[0], np.multiply(NH3[1], 1.05)))
    assert store.converged_band(bent) is None


def _li(x: float, waters: list) -> tuple:
    atoms = [("Li", x, 0, 0)] + waters
    return [a[0] for a in atoms], [a[1:] for a in atoms], 1, 1


@pytest.mark.parametrize("change,message", [
    ("wrong count", "different atom counts"),
    ("wrong order", "different order"),
    ("identical", "endpoints are identical"),
    ("moved", "endpoints are identical"),  # the same NH3, shifted and turned: no path
    ("all fixed", "every atom that moves between the endpoints is fixed"),  # nothing to search
])
def test_bad_endpoints_refused(tmp_path, capsys, change, message):
    up, down = nh3_pair(tmp_path)
    if change == "wrong count":
        write_xyz_text(down, ["N", "H", "H"], [[0, 0, 0], [1, 0, 0], [0, 1, 0]], 0, 2)
    elif change == "wrong order":
        write_xyz_text(down, ["H", "N", "H", "H"], [[0.94, 0, 0.27], [0, 0, -0.12],
                                                  [-0.47, 0.814, 0.27], [-0.47, -0.814, 0.27]])
    elif change == "moved":
        turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        write_xyz_text(down, NH3[0], np.asarray(NH3[1]) @ turn.T + [1.0, 2.0, 0.5])
    elif change == "identical":
        down.write_text(up.read_text())
    campaign = tmp_path / "nh3.yaml"
    campaign.write_text("""name: nh3
method: screening
structures:
  up: {file: nh3_up.xyz}
  down: {file: nh3_down.xyz}
quantities:
  - {name: inversion, kind: barrier, initial: up, final: down%s}
""" % (', fixed: "0-3"' if change == "all fixed" else ""))
    code = main(["run", str(campaign)])
    err = capsys.readouterr().err
    field = "fixed" if change == "all fixed" else "final"
    assert code == 2 and message in err and f":7: quantities[0].{field}" in err, err
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("energies, well", [
    ([0.0, -0.062, -0.282, -0.049, 0.077], -0.282),  # seed 000's CC3 hop at ONIOM
    ([0.0, 0.066, -0.086, 0.076, 0.029], -0.086),  # the same band at GFN2-xTB
    ([0.0, 0.3, 0.1, -0.2], None),  # a saddle, then downhill to a lower final state
    ([0.0, -0.005, 0.2, 0.1], None),  # within WELL_EV of the initial state: noise
    ([0.0, float("nan"), -0.5, 0.1], -0.5),  # an image with no energy is left out
    ([0.0, 0.1], None),  # no image between the ends
])
def test_a_band_through_a_deeper_minimum_says_so(energies, well):
    """A band whose lowest image lies below both ends passes through a minimum deeper than its
    endpoints: the barrier row's ``well_eV`` gives it (the forward barrier from the initial
    state is then not the hop's); a band with a saddle, or only noise below its start, has none."""
    from screening.quantities import Barrier
    from screening.specs import PathResult

    result = PathResult("hop", "k", "xtb-path", "m", "converged", energies, max(energies),
                        None, None, 0.01, 10, 50, 1.0)
    assert result.well_eV == well
    spec = PathSpec("hop", Molecule.from_arrays(*NH3), Molecule.from_arrays(*NH3))
    method = get_method(METHOD)
    row = Barrier("hop", spec).row(method, {}, {spec.key(method): result.to_dict()})
    assert row["well_eV"] == well
