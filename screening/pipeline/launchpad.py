"""LaunchPads: the embedded store file (no server) or a MongoDB LaunchPad file for clusters.

The embedded store is FireWorks' own mongomock-persistence file. It is read when a client opens
and, left to itself, written only when the process exits, without locking. Here it is written
atomically (temp file + rename) after every firework by :func:`flush`, its exit-time writer is
disabled, and one lock file keeps a second ``screening run`` off the same store.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path
from typing import IO

from ..errors import EnvironmentFault, ScreeningError

DEFAULT_STORE = "results/fireworks_store.json"


class StoreLocked(ScreeningError):
    """Another process holds the embedded store."""


def use_embedded_store(path: str | os.PathLike) -> Path:
    """Point FireWorks at the store file ``path`` (created as ``{}`` if absent).

    Must run before ``fireworks`` is first imported in this process; later calls switch files.
    """
    p = Path(path).resolve()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists() or p.stat().st_size == 0:
            p.write_text("{}")
    except OSError as exc:
        raise EnvironmentFault(f"embedded store {p}: cannot be written "
                               f"({exc.strerror or exc}); make its folder writable or choose "
                               "another --store") from None
    check_store_file(p)
    if "fireworks" in sys.modules and not os.environ.get("MONGOMOCK_SERVERSTORE_FILE"):
        raise RuntimeError("fireworks was imported before the embedded store was chosen: "
                           "call use_embedded_store() first")
    os.environ["MONGOMOCK_SERVERSTORE_FILE"] = str(p)
    return p


def check_store_file(path: Path) -> None:
    """EnvironmentFault unless ``path`` holds a store FireWorks can read (a JSON object)."""
    import bson.json_util

    try:
        content = bson.json_util.loads(path.read_text(encoding="utf-8"))
        ok = isinstance(content, dict) and all(isinstance(v, dict) for v in content.values())
        problem = "not a FireWorks store (a JSON object of databases)"
    except (ValueError, UnicodeDecodeError) as exc:
        ok, problem = False, f"damaged ({str(exc)[:80]})"
    if not ok:
        raise EnvironmentFault(f"embedded store {path}: {problem}; run 'screening doctor "
                               f"--store {path} --repair' to move it aside (every computed "
                               "energy is in the results database, and the next run rebuilds "
                               "the workflow from it)")


def embedded_launchpad(path: str | os.PathLike = DEFAULT_STORE):
    """A LaunchPad on the embedded store file ``path``, with atomic writes (see :func:`flush`)."""
    use_embedded_store(path)
    from fireworks import LaunchPad

    lp = LaunchPad(strm_lvl="ERROR")
    store = lp.connection._store
    finalizer = getattr(store, "_finalizer", None)
    if finalizer is not None:
        finalizer.detach()  # no unlocked, non-atomic write at exit: flush() does it
    lp.screening_store_file = Path(path).resolve()
    if lp.fw_id_assigner.find_one({}) is None:  # a new store: initialise FireWorks' counters
        lp.reset("", require_password=False)
        flush(lp)
    return lp


def flush(lp) -> None:
    """Write an embedded LaunchPad's store to its file atomically (no-op for MongoDB)."""
    target = getattr(lp, "screening_store_file", None)
    if target is None:
        return
    import bson.json_util

    tmp = target.with_suffix(target.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(bson.json_util.dumps(lp.connection._store.to_dict()))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def lock_store(path: str | os.PathLike) -> IO:
    """Hold an exclusive lock beside the store file until the returned handle is closed."""
    lock_path = Path(str(Path(path).resolve()) + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock_path, "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise StoreLocked(f"another 'screening run' is using {path}; wait for it or use "
                          "--store to pick another file") from None
    return fh


def file_launchpad(path: str | os.PathLike):
    """A LaunchPad from a ``my_launchpad.yaml`` file (MongoDB; clusters).

    Raises InputError naming the file for one that is missing, is not a YAML mapping or has no
    ``host`` (nothing is connected to or written before)."""
    import yaml
    from fireworks import LaunchPad

    from ..campaign.yamlfile import malformed_yaml
    from ..errors import InputError

    p = Path(path)
    if not p.is_file():
        raise InputError("LaunchPad file not found (see workflows/my_launchpad.yaml)", str(p))
    try:
        spec = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError("a LaunchPad file must be UTF-8 text", str(p)) from None
    except yaml.YAMLError as exc:
        raise malformed_yaml(exc, str(p), "LaunchPad file") from None
    if not isinstance(spec, dict) or not spec.get("host"):
        raise InputError("a LaunchPad file is a mapping with at least host: (the MongoDB "
                         "server or URI; see workflows/my_launchpad.yaml)", str(p), field="host")
    return LaunchPad.from_dict(spec)
