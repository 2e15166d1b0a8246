"""What a campaign compares itself with, and at which levels it runs.

* ``paper:`` on a quantity: the published value it is set beside (never used to compute
  anything, and not part of any key), e.g.
  ``paper: {value_eV: -0.73, source: "seed 000, Fig. 3a"}``.
* ``orderings:`` a published ordering of several quantities, checked on our numbers, e.g.
  ``{claim: "CC3 holds TFSI- more strongly than TD_A", increasing: [TFSI- in CC3, TFSI- in TD_A],
  source: "seed 000"}``: the values rise along the list.
* ``tiers:`` named levels of theory, e.g. ``fast: {method: gfn2-xtb}``,
  ``dft: {method: screening}``; ``screening run --tier NAME`` picks one (the first by default).
  A quantity with ``tiers: [dft]`` is computed at those tiers only; at the others its row says
  where it is computed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import pandas as pd

from ..errors import InputError, wrong_kind
from ..methods import Method, get_method
from .yamlfile import (NAME_RE, Context, YamlMap, YamlSeq, check_keys, get_flag,
                       require_map)


@dataclass(frozen=True)
class PaperValue:
    """A published value (eV) and where it is from."""

    value_eV: float | None
    source: str
    note: str = ""


@dataclass(frozen=True)
class Ordering:
    """A published ordering: ``quantities`` whose values rise (``increasing``) or fall along
    the list."""

    claim: str
    quantities: tuple[str, ...]
    increasing: bool
    source: str = ""


@dataclass(frozen=True)
class Tier:
    """One level a campaign runs at: its method, whether it needs GPU workers, what it is."""

    name: str
    method: Method
    gpu: bool = False
    description: str = ""


@dataclass
class Annotations:
    """Per-campaign comparison data: paper values by quantity name, orderings, and the
    quantities left out at the tier that was loaded (name → the tiers that compute them)."""

    papers: dict[str, PaperValue] = field(default_factory=dict)
    orderings: list[Ordering] = field(default_factory=list)
    elsewhere: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"papers": {k: asdict(v) for k, v in self.papers.items()},
                "orderings": [asdict(o) for o in self.orderings],
                "elsewhere": {k: list(v) for k, v in self.elsewhere.items()}}

    @classmethod
    def from_dict(cls, d: dict | None) -> "Annotations":
        d = d or {}
        return cls({k: PaperValue(**v) for k, v in d.get("papers", {}).items()},
                   [Ordering(o["claim"], tuple(o["quantities"]), o["increasing"],
                             o.get("source", "")) for o in d.get("orderings", [])],
                   {k: tuple(v) for k, v in d.get("elsewhere", {}).items()})


def load_paper(ctx: Context, q: YamlMap, path: str) -> PaperValue | None:
    """``paper: {value_eV: -0.73, source: "...", note: "..."}`` of a quantity (value_eV may be
    left out where the paper states only an ordering)."""
    if "paper" not in q:
        return None
    p = require_map(ctx, q["paper"], q, "paper", f"{path}.paper")
    check_keys(ctx, p, {"value_eV", "source", "note"}, f"{path}.paper")
    value = p.get("value_eV")
    if value is not None and wrong_kind(value, float):
        raise ctx.error(f"value_eV must be a number in eV, got {value!r}", p, "value_eV",
                        f"{path}.paper.value_eV")
    if not str(p.get("source", "")).strip():
        raise ctx.error("a paper value needs source: (paper and figure or table)", q, "paper",
                        f"{path}.paper.source")
    return PaperValue(None if value is None else float(value), str(p["source"]),
                      str(p.get("note", "")))


def load_orderings(ctx: Context, raw: YamlMap, names: set[str]) -> list[Ordering]:
    """The campaign's ``orderings:`` list; every quantity it names must exist."""
    if "orderings" not in raw:
        return []
    seq = raw["orderings"]
    if not isinstance(seq, YamlSeq):
        raise ctx.error("orderings must be a list of {claim:, increasing: [...]} or "
                        "{claim:, decreasing: [...]}", raw, "orderings", "orderings")
    out = []
    for i, o in enumerate(seq):
        path = f"orderings[{i}]"
        o = require_map(ctx, o, seq, i, path)
        check_keys(ctx, o, {"claim", "increasing", "decreasing", "source"}, path)
        if ("increasing" in o) == ("decreasing" in o):
            raise ctx.error("give exactly one of increasing: or decreasing: (a list of quantity "
                            "names)", seq, i, path)
        key = "increasing" if "increasing" in o else "decreasing"
        listed = o[key]
        if not isinstance(listed, list) or len(listed) < 2:
            raise ctx.error(f"{key} must list two or more quantity names", o, key,
                            f"{path}.{key}")
        for n in listed:
            if str(n) not in names:
                raise ctx.error(f"{key} names {n!r}, which is no quantity of this campaign; its "
                                f"quantities: {', '.join(sorted(names))}", o, key,
                                f"{path}.{key}")
        if len(set(map(str, listed))) != len(listed):
            raise ctx.error(f"{key} names a quantity twice", o, key, f"{path}.{key}")
        claim = str(o.get("claim", "")).strip()
        if not claim:
            raise ctx.error("an ordering needs claim: (what the paper says, in words)", seq, i,
                            f"{path}.claim")
        out.append(Ordering(claim, tuple(map(str, listed)), key == "increasing",
                            str(o.get("source", ""))))
    return out


def load_tiers(ctx: Context, raw: YamlMap) -> dict[str, Tier]:
    """``tiers: {fast: {method: gfn2-xtb, description: ...}, dft: {method: screening},
    dft-gpu: {method: screening, gpu: true}}`` (ordered; the first is the default)."""
    if "tiers" not in raw:
        return {}
    block = require_map(ctx, raw["tiers"], raw, "tiers", "tiers")
    if not block:
        raise ctx.error("tiers must name at least one tier", raw, "tiers", "tiers")
    out = {}
    for name, entry in block.items():
        path = f"tiers.{name}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ctx.error("tier names use letters, digits and + - _ . ( )", block, name, path)
        entry = require_map(ctx, entry, block, name, path)
        check_keys(ctx, entry, {"method", "gpu", "description"}, path)
        if "method" not in entry:
            raise ctx.error("a tier needs method: (a preset such as gfn2-xtb or screening, or a "
                            "mapping)", block, name, f"{path}.method")
        try:
            method = get_method(entry["method"], ctx.source, f"{path}.method")
        except InputError as exc:
            raise InputError(exc.message, ctx.source, entry.lines["method"], exc.field) from None
        gpu = get_flag(ctx, entry, "gpu", f"{path}.gpu")
        out[name] = Tier(name, method, gpu, str(entry.get("description", "")))
    return out


def quantity_tiers(ctx: Context, q: YamlMap, path: str, tiers: dict[str, Tier]
                   ) -> tuple[str, ...] | None:
    """A quantity's ``tiers:`` (the tiers that compute it), each a tier of the campaign."""
    if "tiers" not in q:
        return None
    raw = q["tiers"]
    listed = [raw] if isinstance(raw, str) else raw
    if not tiers:
        raise ctx.error("tiers: on a quantity needs the campaign's tiers: block", q, "tiers",
                        f"{path}.tiers")
    if not isinstance(listed, list) or not listed:
        raise ctx.error("tiers must be a tier name or a list of them", q, "tiers",
                        f"{path}.tiers")
    for t in listed:
        if str(t) not in tiers:
            raise ctx.error(f"unknown tier {t!r}; the campaign's tiers: {', '.join(tiers)}", q,
                            "tiers", f"{path}.tiers")
    return tuple(map(str, listed))


# --- comparison with the papers ---------------------------------------------------------------

HEADLINE_KINDS = ("binding", "adsorption")
"""Kinds whose headline value over several poses is the lowest (the most stable complex)."""


def headline(table: pd.DataFrame, name: str) -> float | None:
    """Our value of quantity ``name``: its row's value, or for a placement's pose rows the
    lowest binding energy (the most stable pose); None where nothing is computed."""
    rows = table[table["of"] == name]
    values = rows["value_eV"].dropna()
    if values.empty:
        return None
    if len(values) == 1 or rows["kind"].iloc[0] not in HEADLINE_KINDS:
        return float(values.iloc[0])
    return float(values.min())


def add_paper_columns(table: pd.DataFrame, notes: Annotations) -> pd.DataFrame:
    """``paper_eV``, ``diff_eV`` (ours − paper) and ``paper_source`` beside every row."""
    table = table.copy()
    paper = [notes.papers.get(n) for n in table["of"]]
    table["paper_eV"] = [p.value_eV if p and p.value_eV is not None else math.nan
                         for p in paper]
    table["diff_eV"] = table["value_eV"] - table["paper_eV"]
    table["paper_source"] = [p.source if p else "" for p in paper]
    return table


def check_orderings(table: pd.DataFrame, notes: Annotations) -> pd.DataFrame:
    """One row per ordering: our values along it, and ``reproduced``: ``no`` as soon as two of
    the values computed so far are out of the published order (a missing one cannot mend that),
    ``incomplete`` where those agree but a value is missing, else ``yes``. ``margin_eV`` is the
    smallest step between consecutive values computed so far, positive where it goes the
    published way (how far the verdict is from turning; None below two values)."""
    rows = []
    for o in notes.orderings:
        ours = [headline(table, n) for n in o.quantities]
        known = [v for v in ours if v is not None]
        # in order, so consecutive pairs decide every pair
        steps = [(b - a) if o.increasing else (a - b) for a, b in zip(known, known[1:])]
        verdict = ("no" if any(s <= 0 for s in steps)
                   else "incomplete" if len(known) < len(ours) else "yes")
        sign = " < " if o.increasing else " > "
        rows.append({"claim": o.claim, "ordering": sign.join(o.quantities),
                     "ours_eV": sign.join("–" if v is None else f"{v:.3f}" for v in ours),
                     "reproduced": verdict, "margin_eV": min(steps) if steps else None,
                     "source": o.source})
    return pd.DataFrame(rows, columns=["claim", "ordering", "ours_eV", "reproduced", "margin_eV",
                                       "source"])
