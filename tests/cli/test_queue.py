"""seamless-run --qsubmit, seamless-queue, seamless-queue-finish: jobs run
side by side and every job's outputs arrive."""

from __future__ import annotations

import os
import subprocess
import sys
import time


def test_queued_jobs_run_side_by_side(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAMLESS_")}
    env.update(SEAMLESS_CACHE=str(tmp_path / "cache"), XDG_CACHE_HOME=str(tmp_path / "xdg"))

    def tool(module: str, function: str, *args: str) -> list[str]:
        return [sys.executable, "-c", f"import sys; from seamless.cli.{module} import {function}; "
                f"sys.exit({function}(sys.argv[1:]))", *args]

    for i in range(3):
        (work / f"in{i}.txt").write_text(f"{i}\n")
        queued = subprocess.run(tool("run.main", "main", "--qsubmit", "-cp", f"out{i}.txt",
                                     f"cat in{i}.txt > out{i}.txt; sleep 1"),
                                cwd=work, env=env, capture_output=True, text=True, timeout=120)
        assert queued.returncode == 0, queued.stderr
    assert (work / ".seamless-queue").exists() and not (work / "out0.txt").exists()
    refused = subprocess.run(tool("run.main", "main", "--qsubmit", "echo", "x"), cwd=work, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "capture targets" in refused.stderr
    runner = subprocess.Popen(tool("queue", "queue_main", "--workers", "3"), cwd=work, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start = time.perf_counter()
    finish = subprocess.run(tool("queue", "finish_main"), cwd=work, env=env, timeout=120)
    elapsed = time.perf_counter() - start
    out, err = runner.communicate(timeout=60)
    assert finish.returncode == 0 and runner.returncode == 0, out + err
    assert out.count("FINISHED") == 3
    assert [(work / f"out{i}.txt").read_text() for i in range(3)] == ["0\n", "1\n", "2\n"]
    assert elapsed < 2.8  # three one-second jobs at once, not one after the other
    assert not (work / ".seamless-queue").exists()
