"""execution: spawn: worker processes, large inputs through shared memory,
a dying worker replaced."""

from __future__ import annotations

import os

import numpy as np
import pytest

import seamless.config
from seamless.transformer import TransformationError, delayed
from seamless.transformer import pool as spawn_module

pytestmark = pytest.mark.filterwarnings("ignore:No cluster defined")


@pytest.fixture
def spawned(memory):
    seamless.config.select_execution("spawn")
    seamless.config.set_nparallel(2)
    pool = spawn_module.spawn()
    yield pool
    pool.shutdown()
    spawn_module._POOL = None


def test_large_numpy_inputs_and_results_in_workers(spawned):
    @delayed
    def stats(arr):
        import os
        return {"sum": float(arr.sum()), "pid": os.getpid(), "copy": arr * 2}

    data = np.arange(4_000_000, dtype=np.float64)  # 32 MB: through shared memory
    value = stats(data).run()
    assert value["sum"] == float(data.sum())
    assert value["pid"] != os.getpid()
    np.testing.assert_array_equal(value["copy"], data * 2)
    assert not [n for n in os.listdir("/dev/shm") if n.startswith("psm_")]  # every block released


def test_workers_run_side_by_side(spawned):
    import time

    @delayed
    def nap(i):
        import os
        import time
        time.sleep(0.4)
        return os.getpid()

    from seamless.transformer import parallel

    start = time.perf_counter()
    pids = {t.run() for t in parallel([nap(i) for i in range(4)], nparallel=4)}
    assert time.perf_counter() - start < 1.5  # 4 x 0.4 s on 2 workers, not 1.6 s in a row
    assert len(pids) == 2 and os.getpid() not in pids


def test_a_dying_worker_is_replaced(spawned):
    @delayed
    def die(x):
        import os
        os._exit(3)

    with pytest.raises(TransformationError, match="worker process died"):
        die(1).run()

    @delayed
    def fine(x):
        return x + 1

    assert fine(1).run() == 2


def test_the_same_large_input_twice_and_bash_with_a_folder(spawned, tmp_path):
    @delayed
    def both(a, b):
        return float(a.sum() + b.sum())

    data = np.ones(100_000)
    assert both(data, data).run() == 200_000.0
    assert not [n for n in os.listdir("/dev/shm") if n.startswith("psm_")]

    from seamless import Buffer
    from seamless.transformer.runtime import get_runtime, store_definition

    leaf = Buffer(b"inside\n")
    index = Buffer({"x.txt": leaf.get_checksum().hex()}, "plain")
    code = Buffer("cat indir/x.txt > RESULT", "text")
    tf_dict = {"__language__": "bash", "__output__": ["result", "bytes", None],
               "code": ["text", None, code.get_checksum().hex()],
               "indir": ["mixed", None, index.get_checksum().hex()],
               "__format__": {"indir": {"celltype": "deepfolder",
                                        "filesystem": {"mode": "directory", "optional": True}}}}
    tf = store_definition(tf_dict, [leaf, index, code])
    result = get_runtime().compute(tf_dict, tf)
    assert get_runtime().resolve(result).content == b"inside\n"
