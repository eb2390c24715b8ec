"""The transformation cache with real stores: new processes hit it,
execution records, identical transformations run once, scratch and
fingertipping (recursive), irreproducible results."""

from __future__ import annotations

import json
import sqlite3
import threading

from seamless import Checksum
from seamless.transformer import delayed

COUNTED = """
import os
import seamless.config
seamless.config.init()
from seamless.transformer import delayed

@delayed
def double(x):
    import os
    with open(os.path.join(os.environ["LOG"], "runs"), "a") as f:
        f.write("double\\n")
    return x * 2

@delayed
def plus_one(x):
    import os
    with open(os.path.join(os.environ["LOG"], "runs"), "a") as f:
        f.write("plus_one\\n")
    return x + 1

double.scratch = plus_one.scratch = os.environ.get("SCRATCH") == "1"
tf = plus_one(double(20))
print(tf.run())
print(tf.result_checksum)
"""


def runs(folder) -> list[str]:
    path = folder / "runs"
    return path.read_text().split() if path.exists() else []


def test_a_new_process_hits_the_cache(memory, run_script):
    first = run_script(memory, COUNTED, LOG=str(memory))
    assert first.returncode == 0, first.stderr
    assert first.stdout.split()[0] == "41" and runs(memory) == ["double", "plus_one"]
    second = run_script(memory, COUNTED, LOG=str(memory))
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout and runs(memory) == ["double", "plus_one"]  # nothing ran again
    db = sqlite3.connect(memory / "cache" / "__TOPLEVEL__" / "seamless.db")
    records = [json.loads(row[0]) for row in db.execute("SELECT metadata FROM meta_data")]
    assert len(records) == 2
    for record in records:
        assert set(record) == {"schema_version", "tf_checksum", "result_checksum", "seamless_version",
                               "execution_mode", "remote_target", "wall_time_seconds", "cpu_time_user_seconds",
                               "cpu_time_system_seconds", "memory_peak_bytes", "gpu_memory_peak_bytes"}
        assert record["execution_mode"] == "process" and record["memory_peak_bytes"] > 1 << 20
        assert record["wall_time_seconds"] >= 0 and record["schema_version"] == 1


def test_identical_transformations_at_once_execute_once(memory):
    counter = []
    gate = threading.Event()

    @delayed
    def slow(x):
        import time
        time.sleep(0.3)
        return x

    import seamless.transformer.execute as execute

    real_run = execute.run

    def counting_run(*args):
        counter.append(1)
        gate.wait(5)
        return real_run(*args)

    execute.run = counting_run
    try:
        results = []
        threads = [threading.Thread(target=lambda: results.append(slow(7).run())) for _ in range(4)]
        for t in threads:
            t.start()
        gate.set()
        for t in threads:
            t.join(30)
    finally:
        execute.run = real_run
    assert results == [7, 7, 7, 7] and len(counter) == 1


def test_scratch_then_fingertip_recovers_recursively(memory, run_script):
    first = run_script(memory, COUNTED, LOG=str(memory), SCRATCH="1")
    assert first.returncode == 0, first.stderr
    result = Checksum(first.stdout.split()[1])
    buffers = memory / "cache" / "__TOPLEVEL__"
    # neither scratch result is in the buffer store, but the records are
    assert not (buffers / result.hex()[:2] / result.hex()).exists()
    db = sqlite3.connect(buffers / "seamless.db")
    assert db.execute("SELECT count(*) FROM transformation").fetchone() == (2,)
    fingertip = run_script(memory, f"""
        import seamless.config
        import seamless.transformer  # recomputation comes with the transformation layer
        seamless.config.init()
        from seamless import Checksum
        print(Checksum("{result.hex()}").fingertip_sync("mixed"))
        """, LOG=str(memory))
    assert fingertip.returncode == 0, fingertip.stderr
    assert fingertip.stdout.strip() == "41"
    assert runs(memory) == ["double", "plus_one", "double", "plus_one"]  # both recomputed


NOISY = """
import seamless.config
seamless.config.init()
from seamless.transformer import delayed

@delayed
def noisy(x):
    import random
    return random.random() + x

noisy.scratch = True
tf = noisy(1)
print(tf.compute(), tf.transformation_checksum)
"""


def test_irreproducible_result_is_recorded(memory, run_script):
    first = run_script(memory, NOISY)
    assert first.returncode == 0, first.stderr
    result, tf = first.stdout.split()
    second = run_script(memory, f"""
        import seamless.config
        import seamless.transformer
        seamless.config.init()
        from seamless import Checksum
        from seamless.exceptions import CacheMissError
        try:
            Checksum("{result}").fingertip_sync()
        except CacheMissError:
            print("missing")
        """)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "missing"
    assert "irreproducible" in second.stderr
    db = sqlite3.connect(memory / "cache" / "__TOPLEVEL__" / "seamless.db")
    assert db.execute("SELECT checksum, result FROM irreproducible_transformation").fetchall() == [(tf, result)]
    assert db.execute("SELECT count(*) FROM transformation").fetchone() == (0,)


def test_is_cached(cache):
    @delayed
    def f(x):
        return x

    tf = f(123)
    assert not tf.is_cached()
    tf.compute()
    assert tf.is_cached()


def test_a_new_store_gets_the_buffers_again(memory, monkeypatch):
    import seamless.config
    from seamless.transformer import delayed

    @delayed
    def inc(x):
        return x + 1

    monkeypatch.setenv("SEAMLESS_CACHE", str(memory / "one"))
    seamless.config.init()
    assert inc(1).run() == 2
    seamless.config.set_stage("other")  # another folder, same process
    assert inc(1).run() == 2
    stage_folder = memory / "one" / "__TOPLEVEL__" / "STAGE-other"
    code = inc(1).dict["code"][2]
    assert (stage_folder / code[:2] / code).exists()  # the code buffer went to the new store too
