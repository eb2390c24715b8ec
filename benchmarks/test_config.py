"""The configuration layer: evaluating the seed's files (pytest-benchmark),
and a one-round smoke run of compare_init.py (ours only, unless
SEAMLESS_REFERENCE_PYTHON names a reference virtualenv)."""

from __future__ import annotations

import compare_init
import seamless.config
from seamless.config.session import Session


def test_load_seed_configuration(benchmark, tmp_path, monkeypatch):
    benchmark.group = "config"
    side = compare_init.make_side(str(tmp_path / "side"), reference=False)
    monkeypatch.setenv("HOME", side["home"])
    monkeypatch.chdir(side["project"])
    for name in ("SEAMLESS_CACHE", "SEAMLESS_REMOTE_CLIENTS", "SEAMLESS_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    config = benchmark(lambda: Session().load())
    assert config.cluster_name == "local" and config.execution == "process"
    seamless.config.reset()


def test_compare_init_smoke(capsys):
    assert compare_init.main(["--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "seamless-init, warm" in out and "import seamless.config" in out
