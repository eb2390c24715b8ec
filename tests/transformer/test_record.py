"""Execution records' figures are the job's own: a bash command's CPU time
and peak memory come from its own wait4 usage, so jobs running side by
side in one process (seamless-queue --workers, threads) are told apart, and
a job does not inherit an earlier job's peak memory."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import pytest

from seamless.transformer.record import Measurement

MiB = 1 << 20


SIDE_BY_SIDE = """
import json, sys, threading
from seamless.cli.run.build import build
from seamless.transformer import execute
from seamless.transformer.record import Measurement


def bash_transformation(command):
    job = build(command, workdir=".", captures=[], extra_inputs=[], variables=[], metavars=[], prologues=[])
    buffers = {buffer.get_checksum(): buffer for buffer in job.buffers}
    return job.tf_dict, buffers.__getitem__


heavy = bash_transformation(sys.executable + " -c 'b = b\\"x\\" * (200 << 20); sum(range(3 * 10**7))'")
light = bash_transformation("sleep 1.5; echo done")
figures = {}


def measured(name, transformation):
    with Measurement() as measurement:
        execute.run(*transformation)
    figures[name] = measurement.as_dict()


threads = [threading.Thread(target=measured, args=("light", light))]
threads[0].start()
threads.append(threading.Thread(target=measured, args=("heavy", heavy)))
threads[1].start()
for thread in threads:
    thread.join()
print(json.dumps(figures))
"""


def test_jobs_side_by_side_are_measured_apart(tmp_path):
    """In a small process of its own: a command's peak memory includes the
    size of the process that started it (the kernel counts the memory a
    child had before its exec), and pytest's process is large."""
    done = subprocess.run([sys.executable, "-c", SIDE_BY_SIDE], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    heavy, light = figures["heavy"], figures["light"]
    assert heavy["cpu_time_user_seconds"] + heavy["cpu_time_system_seconds"] > 0.2
    assert heavy["memory_peak_bytes"] > 200 * MiB
    # the heavy command ended while the light one ran: none of it counts for the light one
    assert light["wall_time_seconds"] > 1.4
    assert light["cpu_time_user_seconds"] + light["cpu_time_system_seconds"] < 0.15
    assert light["memory_peak_bytes"] < 150 * MiB


def _peak_mark_resettable() -> bool:
    try:
        open("/proc/self/clear_refs", "w").close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _peak_mark_resettable(), reason="the peak memory mark cannot be reset here")
def test_a_worker_job_does_not_inherit_an_earlier_peak():
    big = b"x" * (300 * MiB)
    del big
    lifetime_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with Measurement(reset_peak=True) as measurement:  # as a spawn worker measures
        small = b"y" * MiB
    del small
    assert measurement.peak < lifetime_peak - 250 * MiB


def test_the_peak_mark_is_left_alone_by_default():
    """Elsewhere than in a worker, the process's peak stays what its parent
    will see."""
    big = b"x" * (300 * MiB)
    del big
    with Measurement() as measurement:
        pass
    assert measurement.peak >= 300 * MiB
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 >= 300 * MiB


def test_stop_freezes_the_figures():
    measurement = Measurement()
    first = measurement.stop().as_dict()
    sum(range(10**6))
    assert measurement.stop().as_dict() == first
