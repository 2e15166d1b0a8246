"""Collector: a campaign's quantities from stored energies → DataFrame, CSV and a figure.

Tables are in eV, with the method beside every number. A quantity whose energies are not all
stored yet (a failed or pending calculation) keeps its row with empty values and names what is
missing, rather than stopping the collection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .campaign import Campaign
from .quantities import Quantity
from .specs import PathResult, calc_key
from .store import ResultStore

COLUMNS = ["quantity", "kind", "value_eV", "interaction_eV", "interaction_cp_eV", "bsse_eV",
           "deformation_eV", "reverse_eV", "well_eV", "paper_eV", "diff_eV", "status",
           "reference", "counterpoise", "method", "missing", "paper_source", "of"]
"""Table columns. ``well_eV``: a barrier's lowest image where it lies below both ends
(:attr:`~screening.specs.PathResult.well_eV`); ``paper_eV``/``diff_eV`` (ours − paper): where
the campaign gives a paper value; ``of``: the campaign quantity a row belongs to (a placement has
one row per pose)."""


def expand(campaign: Campaign, store: ResultStore) -> list[Quantity]:
    """The campaign's quantities as table rows: a placement becomes one quantity per stored pose
    (rank order), or stays itself (a row with a gap) until it has run."""
    return [row for _, row in expand_owned(campaign, store)]


def expand_owned(campaign: Campaign, store: ResultStore) -> list[tuple[str, Quantity]]:
    """:func:`expand`, each row with the name of the campaign quantity it belongs to."""
    return [(q.name, row) for q in campaign.quantities
            for row in q.expand(store.get_poses, campaign.method)]


def campaign_keys(campaign: Campaign, store: ResultStore) -> dict[str, list[str]]:
    """The stored records a campaign's table rests on: ``calculations`` (calc keys of every row,
    poses included), ``poses`` (placement keys) and ``paths`` (path keys)."""
    keys = [calc_key(m, campaign.method) for q in expand(campaign, store) for m in q.molecules()]
    return {"calculations": keys,
            "poses": [s.key() for q in campaign.quantities for s in q.placements],
            "paths": [q.path.key(campaign.method) for q in campaign.quantities
                      if q.path is not None]}


def collect(campaign: Campaign, store: ResultStore) -> pd.DataFrame:
    """One row per quantity (per kept pose for placements): value and components in eV (NaN
    where an energy is missing), the paper's value beside it where the campaign gives one, and
    a row for each quantity this tier leaves out, naming the tiers it is in."""
    from .campaign.papers import add_paper_columns

    owned = expand_owned(campaign, store)
    quantities = [q for _, q in owned]
    keys = [calc_key(m, campaign.method) for q in quantities for m in q.molecules()]
    energies = store.energies(keys)
    paths = {}
    for q in campaign.quantities:
        if q.path is not None:
            key = q.path.key(campaign.method)
            found = store.get_path(key)
            if found is not None:
                paths[key] = found
    rows = [{**q.row(campaign.method, energies, paths), "of": owner} for owner, q in owned]
    for name in campaign.notes.elsewhere:
        rows.append({"quantity": name, "kind": "", "of": name, "method": "",
                     "status": campaign.left_out(name)})
    table = pd.DataFrame(rows)
    for col in COLUMNS:
        if col not in table:
            table[col] = float("nan") if col.endswith("_eV") else ""
    table = add_paper_columns(table, campaign.notes)[COLUMNS]
    num = [c for c in COLUMNS if c.endswith("_eV")]
    table[num] = table[num].astype(float)
    return table


def rows_of(table: pd.DataFrame, campaign: Campaign) -> pd.DataFrame:
    """The rows of ``table`` (a whole tier's, from :func:`collect`) owned by ``campaign``'s
    quantities (a part of that tier, as ``run --only`` runs)."""
    names = {q.name for q in campaign.quantities}
    return table[table["of"].isin(names)].reset_index(drop=True)


def format_table(table: pd.DataFrame) -> str:
    """A plain-text table for the terminal (eV, 3 decimals, empty columns dropped)."""
    shown = table.dropna(axis=1, how="all").drop(columns=["of", "paper_source"],
                                                  errors="ignore").copy()
    if "missing" in shown and (shown["missing"] == "").all():
        shown = shown.drop(columns=["missing"])
    if "counterpoise" in shown:
        shown = shown.drop(columns=["counterpoise"])
    if "status" in shown and (shown["status"].fillna("") == "").all():
        shown = shown.drop(columns=["status"])
    return shown.to_string(index=False, float_format=lambda x: f"{x:.3f}", na_rep="–")


def format_orderings(table: pd.DataFrame, campaign: Campaign) -> str:
    """One line per published ordering of the campaign: reproduced or not, with our values."""
    from .campaign.papers import check_orderings

    lines = []
    for _, o in check_orderings(table, campaign.notes).iterrows():
        mark = {"yes": "reproduced", "no": "NOT reproduced", "incomplete": "incomplete"}
        lines.append(f"  {mark[o['reproduced']]:<15s} {o['claim']}: {o['ordering']} "
                     f"(ours {o['ours_eV']} eV{'; ' + o['source'] if o['source'] else ''})")
    return "\n".join(lines)


def plot(table: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Horizontal bar chart of ``value_eV`` per quantity, with the method in the axis label."""
    data = table.dropna(subset=["value_eV"])
    fig = Figure(figsize=(7, 0.5 * max(len(data), 2) + 1.2))
    ax = fig.subplots()
    colors = {"binding": "#3b6ea8", "adsorption": "#3b6ea8", "desolvation": "#c0504d",
              "dissociation": "#9bbb59", "reaction": "#8064a2", "barrier": "#f79646"}
    ax.barh(data["quantity"], data["value_eV"],
            color=[colors.get(k, "grey") for k in data["kind"]])
    for y, v in enumerate(data["value_eV"]):
        ax.annotate(f"{v:.2f}", (v, y), xytext=(3 if v >= 0 else -3, 0),
                    textcoords="offset points", va="center", ha="left" if v >= 0 else "right",
                    fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    if "paper_eV" in data and data["paper_eV"].notna().any():
        at = [(v, y) for y, v in enumerate(data["paper_eV"]) if np.isfinite(v)]
        ax.plot([v for v, _ in at], [y for _, y in at], "D", color="black", ms=5,
                label="paper (seed's value)")
        ax.legend(loc="best", fontsize=8)
    ax.invert_yaxis()
    methods = ", ".join(sorted(set(data["method"]))) if len(data) else ""
    cp = " (counterpoise-corrected)" if len(data) and data["counterpoise"].all() else ""
    ax.set_xlabel(f"energy / eV   [{methods}{cp}]")
    ax.set_title(title or "binding (<0 bound), desolvation, dissociation, barrier energies")
    lo, hi = ax.get_xlim()
    ax.set_xlim(lo - 0.15 * (hi - lo), hi + 0.15 * (hi - lo))
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    return path


def write_outputs(table: pd.DataFrame, output: str | Path, name: str,
                  campaign: Campaign | None = None, store: ResultStore | None = None
                  ) -> list[Path]:
    """Write ``quantities.csv``, ``quantities.png`` and one ``path_<name>.png`` energy profile
    per stored barrier under ``output``; return their paths."""
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "quantities.csv"
    table.to_csv(csv, index=False, float_format="%.6f")
    paths = [csv]
    if table["value_eV"].notna().any():
        paths.append(plot(table, out / "quantities.png", f"campaign {name}"))
    if campaign is not None and campaign.notes.orderings:
        from .campaign.papers import check_orderings

        paths.append(out / "orderings.csv")
        check_orderings(table, campaign.notes).to_csv(paths[-1], index=False)
    if campaign is not None and store is not None:
        for q in campaign.quantities:
            found = store.get_path(q.path.key(campaign.method)) if q.path else None
            if found is not None:
                safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in q.name)
                paths.append(plot_profile(PathResult.from_dict(found), out / f"path_{safe}.png",
                                          title=q.name))
    return paths


def plot_profile(result: PathResult, path: str | Path, title: str | None = None) -> Path:
    """Energy profile (eV vs image) of a path, barrier annotated, titled ``title`` (default
    the name it was stored under: a stored path serves every quantity with its key)."""
    e = np.asarray(result.energies_eV, dtype=float)
    x = np.arange(len(e))
    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.subplots()
    ax.plot(x, e, "o-", color="#3b6ea8")
    if result.climbing_image is not None:
        ax.plot([result.climbing_image], [e[result.climbing_image]], "s", color="#c0504d",
                label="climbing image")
        ax.legend(loc="best", fontsize=8)
    fwd = "–" if result.forward_eV is None else f"{result.forward_eV:.3f}"
    rev = "–" if result.reverse_eV is None else f"{result.reverse_eV:.3f}"
    well = "" if result.well_eV is None else f"; a well at {result.well_eV:.3f} eV"
    ax.set_title(f"{title or result.name}: E_a = {fwd} eV (reverse {rev} eV){well}",
                 fontsize=9)
    ax.set_xticks(x)
    ax.set_xlabel("image (0 = initial state)")
    ax.set_ylabel(f"E − E(initial) / eV\n[{result.method}]", fontsize=8)
    ax.axhline(0, color="grey", lw=0.6)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    return path


def report(campaign_file: str | Path, store: ResultStore, output: str | Path,
           say: Callable[[str], None] | None = None) -> list[Path]:
    """Every tier of a campaign side by side with the papers: per tier its outputs
    (:func:`write_outputs` under ``output/<tier>``), and in ``output`` ``summary.csv`` (one row
    per quantity: the paper's value, then ours at each tier, each column named by its tier and
    method), ``orderings.csv`` (each ordering's verdict at each tier) and ``summary.png``.
    Computes nothing: values come from ``store``."""
    from .campaign import load_every_tier
    from .campaign.papers import check_orderings, headline

    out = Path(output)
    campaigns = load_every_tier(campaign_file)
    first = campaigns[0]
    columns: dict[str, dict[str, float | None]] = {}
    checked: dict[str, pd.DataFrame] = {}  # each tier's orderings (verdict, margin)
    written: list[Path] = []
    for c in campaigns:
        tier = c.tier
        table = collect(c, store)
        written += write_outputs(table, out / tier if tier else out, c.name, c, store)
        label = f"{tier}: {c.method.label}" if tier else c.method.label
        columns[label] = {name: headline(table, name) if name not in c.notes.elsewhere else None
                          for name in table["of"].drop_duplicates()}
        checked[label] = check_orderings(table, c.notes)
        if say:
            done = sum(v is not None for v in columns[label].values())
            here = len(columns[label]) - len(c.notes.elsewhere)
            say(f"{c.name} tier {tier or '(one)'}: {done} of {here} quantities "
                f"have a value at {c.method.label}"
                + (f" ({len(c.notes.elsewhere)} more at other tiers only)"
                   if c.notes.elsewhere else ""))
    names = list(dict.fromkeys(n for col in columns.values() for n in col))
    papers = first.notes.papers
    summary = pd.DataFrame({
        "quantity": names,
        "paper_eV": [papers[n].value_eV if n in papers else None for n in names],
        **{label: [col.get(n) for n in names] for label, col in columns.items()},
        "paper_source": [papers[n].source if n in papers else "" for n in names]})
    out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out / "summary.csv", index=False, float_format="%.4f")
    orderings = check_orderings(pd.DataFrame(columns=["of", "kind", "value_eV"]), first.notes)
    orderings = orderings.drop(columns=["ours_eV", "reproduced", "margin_eV"])
    for label, tier_orderings in checked.items():
        orderings[f"reproduced ({label})"] = list(tier_orderings["reproduced"])
        orderings[margin_column(f"reproduced ({label})")] = list(tier_orderings["margin_eV"])
    orderings.to_csv(out / "orderings.csv", index=False)
    (out / "summary.md").write_text(summary_markdown(first.name, summary, orderings))
    written += [out / "summary.csv", out / "orderings.csv", out / "summary.md",
                plot_summary(summary, out / "summary.png", f"{first.name}: ours and the paper's")]
    return written


def margin_column(verdict_column: str) -> str:
    """The report's margin column beside a verdict column: ``reproduced (<tier label>)`` →
    ``margin_eV (<tier label>)``."""
    return verdict_column.replace("reproduced (", "margin_eV (", 1)


def summary_markdown(name: str, summary: pd.DataFrame, orderings: pd.DataFrame) -> str:
    """The summary and the orderings' verdicts as Markdown tables (eV, 2 decimals, – where a
    tier has no value)."""
    def cell(v: object) -> str:
        return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else \
            f"{v:.2f}" if isinstance(v, float) else str(v)

    cols = [c for c in summary.columns if c != "paper_source"]
    lines = [f"**{name}** (eV)", "", "| " + " | ".join(cols) + " |",
             "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r[c]) for c in cols) + " |"
              for _, r in summary.iterrows()]

    def verdict(r: pd.Series, col: str) -> str:
        """yes/no with the margin in brackets (eV), where the report has one."""
        margin = r.get(margin_column(col))
        shown = str(r[col]) in ("yes", "no") and margin is not None and np.isfinite(margin)
        return f"{r[col]} ({margin:+.2f})" if shown else str(r[col])

    verdict_cols = [c for c in orderings.columns if c.startswith("reproduced")]
    if len(orderings):
        lines += ["", "| published ordering | " + " | ".join(
            c.removeprefix("reproduced (").removesuffix(")") for c in verdict_cols) + " |",
                  "|" + "---|" * (len(verdict_cols) + 1)]
        lines += [f"| {r['claim']} | " + " | ".join(verdict(r, c) for c in verdict_cols) + " |"
                  for _, r in orderings.iterrows()]
        if any(margin_column(c) in orderings for c in verdict_cols):
            lines += ["", "In brackets: the smallest step along the ordering (eV), positive where "
                      "it goes the published way; a verdict whose step is smaller than the "
                      "level's error is not decided by it."]
    return "\n".join(lines) + "\n"


def plot_summary(summary: pd.DataFrame, path: str | Path, title: str) -> Path:
    """Grouped horizontal bars: ours at each tier, and the paper's value as a diamond."""
    tiers = [c for c in summary.columns if c not in ("quantity", "paper_eV", "paper_source")]
    n = len(summary)
    fig = Figure(figsize=(8, 0.45 * max(n, 2) + 1.5))
    ax = fig.subplots()
    height = 0.8 / max(len(tiers), 1)
    palette = ["#3b6ea8", "#c0504d", "#9bbb59", "#8064a2"]
    y = np.arange(n)
    for k, tier in enumerate(tiers):
        values = pd.to_numeric(summary[tier], errors="coerce").to_numpy(dtype=float)
        ax.barh(y + (k - (len(tiers) - 1) / 2) * height, np.nan_to_num(values), height,
                color=palette[k % len(palette)], label=tier)
    paper = pd.to_numeric(summary["paper_eV"], errors="coerce").to_numpy(dtype=float)
    known = np.isfinite(paper)
    if known.any():
        ax.plot(paper[known], y[known], "D", color="black", ms=6, label="paper")
    ax.set_yticks(y)
    ax.set_yticklabels(summary["quantity"], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("energy / eV (bars absent: not computed at that tier)")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="best", fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    return path
