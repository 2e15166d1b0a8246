"""The `screening` command.

Start with 'screening run workflows/quickstart.yaml': it computes every energy the campaign
needs on this machine (FireWorks on an embedded store file, no server) and prints a table of
binding, desolvation, dissociation and barrier energies in eV. 'screening validate FILE' checks a
campaign without computing; 'screening submit FILE -l my_launchpad.yaml' queues it on a
cluster's MongoDB for rlaunch/qlaunch workers; 'screening results' queries the results
database.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import EnvironmentFault, ScreeningError

EPILOG = """examples:
  screening run workflows/quickstart.yaml            # run locally, print the table
  screening run my.yaml --workers 2                  # two calculations at a time
  screening validate my.yaml                         # check a campaign, compute nothing
  screening submit my.yaml -l my_launchpad.yaml --db /shared/screening.db   # cluster queue
  screening status                                   # fireworks by state, stored results
  screening results --campaign quickstart --format csv
  screening results --quantities workflows/quickstart.yaml
  screening results --paths                          # NEB barriers
  screening species                                  # the built-in species library
  screening hosts                                    # the host builders and their sites
  screening sizes CC3 TD_A TFSI-                     # cavity vs guest size (Å)
  screening doctor [--repair]                        # check/fix the database and store
  screening path-types [--anchors HOST]              # named Li+ hop paths; a host's anchors
  screening run workflows/seed003_silica_pvdf_hfp.yaml --tier fast   # a seed paper, GFN2-xTB
  screening import results/seed003/calculations.json # load shipped calculations
  screening export workflows/seed003_silica_pvdf_hfp.yaml -o calcs.json   # and write them
  screening report workflows/seed003_silica_pvdf_hfp.yaml   # every tier beside the paper

energies: Hartree in the database, eV in tables; negative binding = bound.
files: results/screening.db (results), results/fireworks_store.json (local queue),
results/<campaign>[/<tier>]/quantities.csv and .png (tables, figure), orderings.csv."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="screening", description=__doc__.split("\n\n")[1].replace("\n", " "),
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def db_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--db", help="results database file or URL (default $SCREENING_DB or "
                        "results/screening.db)")

    r = sub.add_parser("run", help="run a campaign here and print its table")
    r.add_argument("campaign", help="campaign YAML file")
    r.add_argument("-w", "--workers", type=int, default=1,
                   help="calculations at a time (CPU threads are shared among them)")
    db_opt(r)
    r.add_argument("--store", help="embedded FireWorks store (default "
                   "results/fireworks_store.json)")
    r.add_argument("-o", "--output", help="folder for quantities.csv/png (default "
                   "results/<campaign name>)")
    r.add_argument("-q", "--quiet", action="store_true", help="print only the table")
    r.add_argument("--threads", type=int, help="CPU threads per calculation (default "
                   "$SCREENING_THREADS, else the cores shared among the workers)")
    r.add_argument("--device", choices=("auto", "cpu", "gpu"),
                   help="where PySCF runs (default $SCREENING_DEVICE or auto)")

    def size_opt(sp: argparse.ArgumentParser) -> None:
        from .campaign import MAX_CALCULATIONS

        sp.add_argument("--max-calculations", type=int, default=MAX_CALCULATIONS, metavar="N",
                        help="refuse a campaign that plans more single points and pose "
                        f"relaxations than N (default {MAX_CALCULATIONS})")

    def tier_opt(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--tier", help="of a campaign with tiers: the one to use (default its "
                        "first), e.g. fast or dft")

    size_opt(r)
    tier_opt(r)
    r.add_argument("--only", action="append", metavar="QUANTITY",
                   help="run only this quantity (repeatable): a long campaign over several "
                   "sittings, its stored calculations the checkpoint. The files written hold "
                   "every quantity (from the database; not yet computed = missing)")
    v = sub.add_parser("validate", help="check a campaign file and list its calculations")
    v.add_argument("campaign")
    size_opt(v)
    tier_opt(v)

    s = sub.add_parser("submit", help="add a campaign's workflow to a MongoDB LaunchPad")
    s.add_argument("campaign")
    s.add_argument("-l", "--launchpad", required=True, help="my_launchpad.yaml")
    db_opt(s)
    s.add_argument("-o", "--output", help="folder the collector writes to (shared filesystem)")
    s.add_argument("--gpu", action="store_true", default=None,
                   help="route calculations to workers of category 'gpu'")
    tier_opt(s)

    st = sub.add_parser("status", help="fireworks by state and number of stored results")
    st.add_argument("--store", help="embedded store file (default results/fireworks_store.json)")
    st.add_argument("-l", "--launchpad", help="my_launchpad.yaml instead of the embedded store")
    db_opt(st)

    res = sub.add_parser("results", help="query stored calculations or a campaign's quantities")
    db_opt(res)
    res.add_argument("--campaign", help="only calculations first run by this campaign")
    res.add_argument("--name", help="only this structure name")
    res.add_argument("--method", help="only this method label, e.g. B3LYP-D3BJ/def2-SVP")
    res.add_argument("--formula", help="only this formula, e.g. C4H6O3Li")
    res.add_argument("--quantities", metavar="CAMPAIGN",
                     help="tabulate this campaign's quantities (eV) from stored energies")
    res.add_argument("--paths", action="store_true",
                     help="list stored NEB paths (barriers in eV) instead of calculations")
    res.add_argument("--format", choices=("table", "csv", "json"), default="table")
    tier_opt(res)
    ex = sub.add_parser("export", help="write the stored records behind a campaign's tables "
                        "to a text file (ASE JSON) that 'screening import' loads back")
    ex.add_argument("campaign")
    ex.add_argument("-o", "--output", required=True, help="file to write, e.g. "
                    "results/seed003/calculations.json")
    ex.add_argument("--tier", action="append", help="only this tier (repeatable; default all)")
    db_opt(ex)
    rp = sub.add_parser("report", help="every tier of a campaign beside the papers' values: "
                        "tables, orderings and figures from stored energies (computes nothing)")
    rp.add_argument("campaign")
    rp.add_argument("-o", "--output", help="folder (default results/<campaign name>)")
    db_opt(rp)
    im = sub.add_parser("import", help="load an exported file into the results database "
                        "(records already stored are kept)")
    im.add_argument("file", nargs="+")
    db_opt(im)

    sub.add_parser("species", help="list the built-in species library")
    sub.add_parser("hosts", help="list the host builders (cages, MOF clusters, polymers, silica)")
    dr = sub.add_parser("doctor", help="check a results database and a store for damage, "
                        "duplicates and dead workers' claims; --repair fixes what it finds")
    db_opt(dr)
    dr.add_argument("--store", help="embedded store file (default results/fireworks_store.json)")
    dr.add_argument("--repair", action="store_true", help="fix what is found (a damaged file is "
                    "moved aside, never deleted; no stored energy is lost)")
    sz = sub.add_parser("sizes", help="cavity, window and molecule sizes (Å) of species and "
                        "hosts on the literature's (pywindow's) definitions")
    sz.add_argument("names", nargs="+", metavar="NAME", help="species or host, e.g. CC3 TD_A TFSI-")
    pt = sub.add_parser("path-types", help="list the named hop paths (kind: barrier, path_type:)")
    pt.add_argument("--anchors", metavar="HOST", help="list HOST's donor-atom anchors "
                    "(site:index, for from:/to:) instead")
    return p


def _settings(**overrides):
    """The environment's settings with the command line's overrides; a malformed
    ``SCREENING_*`` variable is bad input."""
    from .settings import Settings

    try:
        return Settings.from_env(**overrides)
    except ValueError as exc:
        raise ScreeningError(str(exc)) from None


def _version() -> str:
    from . import __version__
    return f"screening {__version__}"


def cmd_run(a: argparse.Namespace) -> int:
    from .campaign import load_campaign
    from .collect import format_orderings, format_table, rows_of
    from .pipeline.launchpad import DEFAULT_STORE, use_embedded_store
    from .pipeline.local import run_local
    from .settings import use_settings

    if a.workers < 1:
        raise ScreeningError("--workers must be >= 1")
    if a.threads is not None and a.threads < 1:
        raise ScreeningError("--threads must be >= 1")
    settings = _settings(threads=a.threads, device=a.device, db=a.db)
    with use_settings(settings):
        whole = load_campaign(a.campaign, tier=a.tier)
        campaign = whole.only(a.only) if a.only else whole
        campaign.check_size(a.max_calculations)
        use_embedded_store(a.store or DEFAULT_STORE)
        # The whole tier's table (from the database): the verdicts need every quantity an
        # ordering names, not only the part run; the table printed is the part's.
        judged = run_local(campaign, a.db, a.store, a.output, a.workers,
                           None if a.quiet else lambda m: print(m, flush=True), settings,
                           whole=whole if a.only else None)
        table = rows_of(judged, campaign)
    tier = f" (tier {campaign.tier})" if campaign.tier else ""
    print(f"\n{campaign.name}{tier}: energies in eV at {campaign.method.label}"
          f"{' with counterpoise' if campaign.method.counterpoise else ''}")
    print(format_table(table))
    if whole.notes.orderings:
        scope = " (every quantity of the tier, from the database)" if a.only else ""
        print(f"\npublished orderings{scope}:\n{format_orderings(judged, whole)}")
    return 0 if (table["missing"] == "").all() else 1


def cmd_validate(a: argparse.Namespace) -> int:
    from .campaign import load_campaign

    c = load_campaign(a.campaign, check_only=True, tier=a.tier)  # no xTB, nothing written
    size = c.check_size(a.max_calculations)
    calcs = c.calculations()
    print(f"{c.source}: campaign {c.name!r} is valid: {len(c.quantities)} quantities, "
          f"{len(calcs)} calculations at {c.method.label}"
          f"{' with counterpoise' if c.method.counterpoise else ''}")
    for mol, labels in calcs:
        ghosts = f", {len(mol.ghosts)} ghost" if mol.ghosts else ""
        print(f"  {mol.formula:<14s} {mol.natoms:4d} atoms{ghosts:<10s} charge {mol.charge:+d} "
              f"mult {mol.multiplicity}  {labels['job']}")
    for q in c.quantities:
        for s in q.placements:
            what = {"separated": "separated state", "contact": "contact state"}.get(s.mode,
                                                                                  "placement")
            print(f"  {what} {q.name!r}: {s.guest.formula} at {', '.join(s.sites)} of "
                  f"{s.host_name} ({s.host_molecule.natoms} atoms), {s.n_poses} poses per site, "
                  f"best {s.keep} kept for {c.method.label}; poses and the guest reference are relaxed with "
                  "GFN2-xTB when the campaign runs")
        if q.path is not None:
            p = q.path
            steps = " + ".join(s for s, on in (("GFN2-xTB", p.prerelax),
                                               ("geomeTRIC", p.relax_endpoints)) if on)
            print(f"  path {p.name!r}: {p.initial.formula}, {p.initial.natoms} atoms "
                  f"({len(p.fixed)} fixed), {p.images} images, mode {p.mode}"
                  f"{f', endpoints relaxed with {steps}' if steps else ''}"
                  f"{f'; {p.origin}' if p.origin else ''}")
    print(f"  at most {size['calculations']} single points, {size['relaxations']} pose "
          f"relaxations, {size['images']} NEB images (limit {a.max_calculations}: "
          "--max-calculations)")
    return 0


def cmd_submit(a: argparse.Namespace) -> int:
    from .campaign import load_campaign
    from .pipeline.launchpad import file_launchpad
    from .pipeline.workflow import build_workflow
    from .store import ResultStore

    campaign = load_campaign(a.campaign, tier=a.tier)
    lp = file_launchpad(a.launchpad)  # before the database is created: nothing written on a bad file
    db = ResultStore(a.db).url
    output = a.output or campaign.results_folder
    mapping = lp.add_wf(build_workflow(campaign, db, output, a.gpu))
    print(f"added workflow {campaign.name!r}: {len(mapping)} fireworks (results database {db}); "
          "start workers with: rlaunch -l {0} rapidfire   or   qlaunch -l {0} rapidfire"
          .format(a.launchpad))
    return 0


def cmd_status(a: argparse.Namespace) -> int:
    from collections import Counter
    from pathlib import Path

    from .pipeline.launchpad import DEFAULT_STORE, embedded_launchpad, file_launchpad
    from .store import ResultStore

    store_file = Path(a.store or DEFAULT_STORE)
    if a.launchpad or store_file.exists():  # a status creates no store
        lp = file_launchpad(a.launchpad) if a.launchpad else embedded_launchpad(store_file)
        states = Counter(fw["state"] for fw in lp.fireworks.find({}, {"state": 1}))
        wfs = list(lp.workflows.find({}, {"name": 1, "state": 1}))
        print(f"workflows: {len(wfs)}  "
              + "  ".join(f"{w['name']}={w['state']}" for w in wfs[-10:]))
        print("fireworks: " + ("  ".join(f"{k}={v}" for k, v in sorted(states.items())) or "none"))
        jobs = {fw["spec"]["calc_key"]: fw["spec"]["_tasks"][0].get("labels", {}).get("job")
                for fw in lp.fireworks.find({"spec.calc_key": {"$exists": True}},
                                            {"spec.calc_key": 1, "spec._tasks": 1})}
    else:
        print(f"workflows: none (no embedded store at {store_file}; give --store or -l)")
        jobs = {}
    _print_checkpoints(jobs)
    try:
        store = ResultStore(a.db, create=False, writable=False)
        print(f"stored results: {store.count()} in {store.url}")
    except EnvironmentFault as exc:
        print(f"stored results: none ({exc})")
    return 0


def _print_checkpoints(jobs: dict[str, str | None]) -> None:
    """The SCF checkpoints of calculations cut off or under way (README, Running), named from
    ``jobs`` (calc key -> job) where the workflow knows them."""
    import time

    from .engines.checkpoint import checkpoints
    from .settings import current_settings

    found = checkpoints(current_settings().cache_dir)
    if not found:
        return
    print(f"SCF checkpoints: {len(found)} in {current_settings().cache_dir}/scf")
    for c in found:
        state = "computing now" if c["running"] else (
            "cut off; resumes on the next run" if c["orbitals"]
            else "cut off before its first SCF cycle; starts afresh")
        print(f"  {jobs.get(c['calc_key']) or c['calc_key']}: {state}, last written "
              f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(c['last_write']))}, "
              f"{c['bytes'] / 1e6:.1f} MB")


def cmd_results(a: argparse.Namespace) -> int:
    from pathlib import Path

    from .store import ResultStore

    shipped = Path("results") / str(a.campaign) / "calculations.json"
    hint = (f"the calculations of {a.campaign} ship in {shipped}: 'screening import {shipped}' "
            "loads them") if a.campaign and shipped.exists() else ""
    try:
        store = ResultStore(a.db, create=False, writable=False)  # never creates a database
    except EnvironmentFault as exc:
        if hint:
            raise EnvironmentFault(f"{exc}; {hint}") from None
        raise
    if a.quantities:
        from .campaign import load_campaign
        from .collect import collect, format_orderings, format_table

        campaign = load_campaign(a.quantities, tier=a.tier)
        df = collect(campaign, store)
        text = format_table(df) if a.format == "table" else None
        if text is not None and campaign.notes.orderings:
            text += f"\n\npublished orderings:\n{format_orderings(df, campaign)}"
    elif a.paths:
        df = store.paths()
        text = df.drop(columns=["path_key"]).to_string(
            index=False, float_format=lambda x: f"{x:.4f}") if a.format == "table" else None
    else:
        df = store.dataframe(a.campaign, a.name, a.method, a.formula)
        text = df.drop(columns=["calc_key", "job"]).to_string(
            index=False, float_format=lambda x: f"{x:.8f}") if a.format == "table" else None
    if a.format == "csv":
        text = df.to_csv(index=False)
    elif a.format == "json":
        text = json.dumps(json.loads(df.to_json(orient="records")), indent=1)
    print(text if len(df) or a.format != "table" else "no results")
    if a.campaign and not len(df) and not hint and not (a.quantities or a.paths):
        known = sorted({c for c in store.dataframe()["campaign"].dropna() if c})
        hint = (f"no calculation of campaign {a.campaign!r} in {store.url}; the campaigns it "
                f"holds: {', '.join(known) or 'none'}")
    if hint and not len(df):
        print(hint, file=sys.stderr)
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from .api import export_results

    n = export_results(a.campaign, a.output, a.db, a.tier)
    print(f"{a.output}: {n['calculations']} calculations, {n['poses']} poses, {n['paths']} "
          f"paths, {n['structures']} GFN2-xTB guest references and shells")
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    from .campaign import load_campaign
    from .collect import report
    from .store import ResultStore

    name = load_campaign(a.campaign, check_only=True).name  # a bad campaign before the store
    store = ResultStore(a.db, create=False, writable=False)
    output = a.output or f"results/{name}"
    for path in report(a.campaign, store, output, print):
        print(f"  wrote {path}")
    return 0


def cmd_import(a: argparse.Namespace) -> int:
    from .api import import_files

    for file, n in zip(a.file, import_files(a.file, a.db)):  # all checked before any imported
        print(f"{file}: added {n['calculations']} calculations, {n['poses']} poses, "
              f"{n['paths']} paths (records already stored kept); {n['structures']} guest "
              "references and shells written to the cache")
    return 0


def cmd_hosts(a: argparse.Namespace) -> int:
    from .hosts import describe_hosts, get_host

    for name, desc in describe_hosts():
        if name == "SiO2/PVDF-HFP":  # built by placement: minutes; listed without its sites
            print(f"{name:<14s} {desc}")
            continue
        host = get_host(name)
        m = host.molecule
        print(f"{name:<14s} {desc}\n{'':14s} default: {m.formula}, {m.natoms} atoms, charge "
              f"{m.charge:+d}, multiplicity {m.multiplicity}; sites: {', '.join(sorted(host.sites))}")
    return 0


def cmd_path_types(a: argparse.Namespace) -> int:
    from .hops import PATH_TYPES, anchor_table
    from .hosts import get_host

    if a.anchors:
        host = get_host(a.anchors)
        print(f"{host.name}: donor-atom anchors (site:index  atom  element  ion fits)")
        for site, k, atom, element, ok in anchor_table(host):
            print(f"  {site}:{k:<4d} atom {atom:<5d} {element:<3s} {'yes' if ok else 'no'}")
        return 0
    for name, t in PATH_TYPES.items():
        opts = ", ".join(f"{k}={v}" for k, v in t.host_options.items())
        print(f"{name:<26s} {t.description}\n{'':26s} host {t.host}"
              f"{f' ({opts})' if opts else ''}, from {t.from_site} to {t.to_site}")
    return 0


def cmd_species(a: argparse.Namespace) -> int:
    from .species import LIBRARY

    for s in LIBRARY:
        mol = s.molecule()
        print(f"{s.name:<9s} {mol.formula:<10s} charge {s.charge:+d} mult {s.multiplicity}  "
              f"{s.description}  [{s.smiles}]")
    return 0


def cmd_doctor(a: argparse.Namespace) -> int:
    from pathlib import Path

    from .database import Claims, is_url
    from .doctor import check_database, check_host_cache, check_scf_checkpoints, check_store
    from .pipeline.launchpad import DEFAULT_STORE
    from .settings import current_settings

    db = a.db or current_settings().db
    if is_url(db):
        claims = Claims(db)
        dead = claims.dead()
        if dead and a.repair:
            claims.clear(dead)
        findings = [f"{db}: {len(dead)} claim(s) of workers that died"
                    + (" -> cleared" if a.repair else "")] if dead else []
        unrepaired = bool(dead) and not a.repair
    else:
        found = (check_database(Path(db).resolve(), a.repair)
                 + check_store(Path(a.store or DEFAULT_STORE).resolve(), a.repair)
                 + check_host_cache(current_settings().hosts_cache, a.repair)
                 + check_scf_checkpoints(current_settings().cache_dir, Path(db).resolve(),
                                         a.repair))
        findings = [f.line() for f in found]
        unrepaired = any(not f.repaired for f in found)
    for line in findings:
        print(line)
    print("no problems found" if not findings else
          "repaired" if not unrepaired else "run again with --repair to fix these")
    return 1 if unrepaired else 0


def cmd_sizes(a: argparse.Namespace) -> int:
    import pandas as pd

    from .api import sizes

    df = sizes(a.names)
    print(f"{'name':<10s} {'formula':<14s} {'cavity':>7s} {'opt.':>7s} {'centres':>7s} "
          f"{'max.':>7s}  windows (Å)")
    for r in df.itertuples():
        opt = f"{'-':>7s}" if pd.isna(r.pore_diameter_opt) else f"{r.pore_diameter_opt:7.2f}"
        wins = ", ".join(f"{w:.2f}" for w in r.window_diameters) or "-"
        print(f"{r.name:<10s} {r.formula:<14s} {r.pore_diameter:7.2f} {opt} "
              f"{r.atom_centre_diameter:7.2f} {r.maximum_diameter:7.2f}  {wins}")
    return 0


COMMANDS = {"run": cmd_run, "validate": cmd_validate, "submit": cmd_submit,
            "status": cmd_status, "results": cmd_results, "species": cmd_species, "hosts": cmd_hosts,
            "path-types": cmd_path_types, "sizes": cmd_sizes, "doctor": cmd_doctor,
            "export": cmd_export, "import": cmd_import, "report": cmd_report}


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit codes: 0 success, 1 a quantity could not be computed, 2 bad input,
    3 a fault of the environment (database, folder or disk)."""
    import sqlite3

    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except EnvironmentFault as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except ScreeningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # damaged after it was opened (truncated, overwritten)
        db = getattr(args, "db", None) or "results/screening.db"
        print(f"error: results database {db}: damaged ({exc}); run 'screening doctor --db "
              f"{db}' to see what is wrong and '--repair' to fix it", file=sys.stderr)
        return 3
    except PermissionError as exc:
        print(f"error: {exc.filename or 'a file'}: permission denied; make it writable or "
              "choose another --db/--output/--store", file=sys.stderr)
        return 3
    except BrokenPipeError:  # e.g. `screening results | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
