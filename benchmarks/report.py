"""One-shot performance report: MB/s, rates and ratios, with PASS/MISS
against the targets.

Every comparison is measured in the same run, alternating the contenders,
and reported as the median of several repetitions, because shared machines
drift by tens of percent between runs. Run it from the repository root::

    python benchmarks/report.py                 # every section, full sizes
    python benchmarks/report.py storage         # one section: checksum, storage
    python benchmarks/report.py --quick         # small sizes, a smoke test

See docs/PERFORMANCE.md for the targets and the last measured figures.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import report_checksum  # noqa: E402
import report_storage  # noqa: E402
from benchmarks_support import Report  # noqa: E402
from seamless import _native  # noqa: E402

SECTIONS = {"checksum": report_checksum.run, "storage": report_storage.run}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sections", nargs="*", choices=[[], *SECTIONS], default=[],
                        help="sections to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per figure (median)")
    parser.add_argument("--dir", default=None, help="folder for the temporary files (default: the system's)")
    args = parser.parse_args(argv)
    if args.dir is not None and not os.path.isdir(args.dir):
        parser.error(f"--dir {args.dir}: not an existing folder")
    print(f"backend={_native.backend} kernel={_native.sha256_kernel()} "
          f"cpus={_native.cpu_count()} python={sys.version.split()[0]}")
    if _native.backend != "native":
        print("note: the native core is not active; figures are for the fallback")
    report = Report()
    for name in args.sections or list(SECTIONS):
        print(f"\n[{name}]")
        SECTIONS[name](report, args)
    misses = [r for r in report.rows if r[3].startswith("MISS")]
    print(f"\n{len(report.rows)} figures, {len(misses)} below target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
