"""parallel() and TransformationList: one database query for the cached,
the rest computed with bounded concurrency."""

from __future__ import annotations

import pytest

import seamless.config
from seamless.transformer import TransformationError, TransformationList, delayed, parallel
from seamless.transformer.runtime import reset_runtime


@delayed
def square(x):
    return x * x


def test_parallel_yields_in_order(cache):
    results = [t.run() for t in parallel([square(i) for i in range(20)], nparallel=4)]
    assert results == [i * i for i in range(20)]


def test_cached_results_are_looked_up_in_one_query(cache):
    list(parallel([square(i) for i in range(200)], nparallel=4))
    reset_runtime()  # a new process, as far as the in-memory caches go
    queries = []
    stores_results = seamless.config.get_stores().results
    real = stores_results.get_transformations

    def counting(tfs):
        queries.append(len(tfs))
        return real(tfs)

    stores_results.get_transformations = counting
    executed = []
    import seamless.transformer.execute as execute

    real_run = execute.run
    execute.run = lambda *a: executed.append(1) or real_run(*a)
    try:
        done = list(parallel([square(i) for i in range(200)], nparallel=4))
    finally:
        execute.run = real_run
    assert queries == [200] and executed == []
    assert [t.result_checksum for t in done] == [square(i).compute() for i in range(200)]


def test_transformation_list_counts_errors(memory):
    @delayed
    def inverse(x):
        return 1 / x

    tfs = TransformationList([inverse(x) for x in (1, 0, 2)], show_progress=False)
    results = tfs.compute()
    assert results[1] is None and results[0] is not None and list(tfs.errors) == [1]
    assert "ZeroDivisionError" in tfs.errors[1]
    with pytest.raises(TransformationError, match="transformation 1"):
        TransformationList([inverse(x) for x in (1, 0)], show_progress=False, on_error="raise").compute()
