"""The README's demo (make demo) runs end to end on the embedded default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TOUR = Path(__file__).parents[1] / "examples" / "tour.py"


def test_tour(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAMLESS_")}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, str(TOUR)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "add(2, 3) = 5, second call" in done.stdout
    assert "67108864 input.dat, second run" in done.stdout
    assert "using the embedded store in" in done.stderr and str(tmp_path / "cache" / "seamless") in done.stderr
    assert (tmp_path / "cache" / "seamless" / "__TOPLEVEL__" / "seamless.db").exists()
