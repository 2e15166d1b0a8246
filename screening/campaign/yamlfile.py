"""Campaign files as YAML that remembers where everything is: every mapping value and sequence
item knows its line, so that each error names file, line and field. Plus the small field checks
every schema uses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, wrong_kind

NAME_RE = re.compile(r"^[A-Za-z0-9_.+\-()]+$")


class YamlMap(dict):
    line: int = 0
    lines: dict


class YamlSeq(list):
    line: int = 0
    lines: list


class YamlLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping value and sequence item."""


def _construct_map(loader: YamlLoader, node: yaml.MappingNode) -> YamlMap:
    out = YamlMap()
    out.line, out.lines = node.start_mark.line + 1, {}
    loader.flatten_mapping(node)
    for k_node, v_node in node.value:
        key = loader.construct_object(k_node, deep=True)
        if key in out:
            raise InputError(f"duplicate key {key!r}", None, k_node.start_mark.line + 1)
        out[key] = loader.construct_object(v_node, deep=True)
        out.lines[key] = v_node.start_mark.line + 1
    return out


def _construct_seq(loader: YamlLoader, node: yaml.SequenceNode) -> YamlSeq:
    out = YamlSeq(loader.construct_object(c, deep=True) for c in node.value)
    out.line, out.lines = node.start_mark.line + 1, [c.start_mark.line + 1 for c in node.value]
    return out


YamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
YamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


class Context:
    """Where we are in the file, to build errors."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, msg: str, node: Any = None, key: Any = None, path: str = "") -> InputError:
        line = None
        if isinstance(node, YamlMap):
            line = node.lines.get(key, node.line) if key is not None else node.line
        elif isinstance(node, YamlSeq):
            line = node.lines[key] if isinstance(key, int) and key < len(node.lines) else node.line
        return InputError(msg, self.source, line, path or None)


def require_map(ctx: Context, value: Any, parent: Any, key: Any, path: str) -> YamlMap:
    if not isinstance(value, YamlMap):
        raise ctx.error(f"must be a mapping, got {type(value).__name__}", parent, key, path)
    return value


def check_keys(ctx: Context, m: YamlMap, allowed: set[str], path: str) -> None:
    for k in m:
        if k not in allowed:
            raise ctx.error(f"unknown key {k!r}; allowed: {', '.join(sorted(allowed))}", m, k,
                            f"{path}.{k}" if path else str(k))


def get_int(ctx: Context, m: YamlMap, key: str, path: str, default: int | None = None) -> int | None:
    """``m[key]`` as an integer (``default`` if absent; None stays None)."""
    v = m.get(key, default)
    if v is None:
        return None
    problem = wrong_kind(v, int)
    if problem:
        raise ctx.error(problem, m, key, f"{path}.{key}")
    return v


def get_flag(ctx: Context, m: YamlMap, key: str, path: str, default: bool = False) -> bool:
    """``m[key]`` as true or false (``default`` if absent); ``path`` is the field's own path."""
    v = m.get(key, default)
    if wrong_kind(v, bool):
        raise ctx.error("must be true or false", m, key, path)
    return v


def parse_indices(spec: Any) -> list[int]:
    """``[0, 1, 2]``, ``"0-4"``, ``"0,2-5"`` or an int → sorted list of 0-based indices."""
    if isinstance(spec, bool):
        raise ValueError("atom indices must be integers")
    if isinstance(spec, int):
        return [spec]
    if isinstance(spec, list):
        out = []
        for x in spec:
            out += parse_indices(x)
        return out
    if isinstance(spec, str):
        out = []
        for part in spec.replace(" ", "").split(","):
            if re.fullmatch(r"\d+", part):
                out.append(int(part))
            elif re.fullmatch(r"\d+-\d+", part):
                a, b = map(int, part.split("-"))
                if b < a:
                    raise ValueError(f"range {part!r} runs backwards")
                out += list(range(a, b + 1))
            else:
                raise ValueError(f"cannot read {part!r} as an index or a range a-b")
        return out
    raise ValueError(f"atom indices must be a list or a string like '0-4', got {spec!r}")


def get_positive(ctx: Context, q: YamlMap, key: str, path: str, default: float) -> float:
    """``q[key]`` as a finite number > 0 (``default`` if absent)."""
    v = q.get(key, default)
    if wrong_kind(v, float) or v <= 0:
        raise ctx.error(f"{key} must be a positive number", q, key, f"{path}.{key}")
    return float(v)


def malformed_yaml(exc: yaml.YAMLError, source: str, what: str = "YAML") -> InputError:
    """The InputError for a YAML file PyYAML could not parse: its problem, at its line."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return InputError(f"malformed {what}: {exc.problem or exc}", source,
                          mark.line + 1 if mark else None)
    return InputError(f"malformed {what}: {exc}", source)


def read_yaml(path: Path) -> tuple[YamlMap, Context]:
    """The campaign file as line-aware YAML, and the context that builds its errors.

    Raises
    ------
    InputError
        when the file is missing, unreadable, not UTF-8 text or not a YAML mapping.
    """
    src = str(path)
    if not path.is_file():
        raise InputError("campaign file not found", src)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not a UTF-8 text file (byte {exc.start}: {exc.reason}); a campaign "
                         "is YAML text", src) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", src) from None
    try:
        raw = yaml.load(text, Loader=YamlLoader)
    except InputError as exc:
        raise InputError(exc.message, src, exc.line) from None
    except yaml.YAMLError as exc:
        raise malformed_yaml(exc, src) from None
    if not isinstance(raw, YamlMap):
        raise InputError("a campaign file must be a YAML mapping (name:, method:, quantities:)",
                         src, 1)
    return raw, Context(src)
