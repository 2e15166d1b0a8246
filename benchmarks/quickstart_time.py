"""Wall time of the quickstart campaign from an empty results database and queue.

Usage: .venv/bin/python benchmarks/quickstart_time.py [--workers 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="screening-quickstart-"))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "screening.cli", "run",
                           str(ROOT / "workflows/quickstart.yaml"), "--workers", str(args.workers),
                           "--db", str(work / "q.db"), "--store", str(work / "store.json"),
                           "--output", str(work / "out"), "-q"], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    print(proc.stdout)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        sys.exit(proc.returncode)
    print(f"quickstart: {dt:.0f} s wall with --workers {args.workers} (fresh database)")


if __name__ == "__main__":
    main()
