"""Code capture (the code pin) and how code text is run."""

from __future__ import annotations

import functools

import pytest

from seamless.transformer.code import CodeCaptureError, capture, function_name, runnable


def deco(*args, **kwargs):
    def wrap(func):
        return func
    return wrap


@deco()
def single(a, b=2):
    # a comment stays: it is part of the identity
    return a + b


@deco(
    "a multi-line",
    "decorator call",
)
def multi(x):
    return x


class Holder:
    @staticmethod
    @functools.lru_cache
    def method(y):
        return y


def test_capture_strips_decorators_keeps_the_rest():
    assert capture(single) == "def single(a, b=2):\n    # a comment stays: it is part of the identity\n    return a + b"
    assert capture(multi) == "def multi(x):\n    return x"  # the reference leaves the call's tail behind
    assert capture(Holder.method.__wrapped__) == "def method(y):\n    return y"  # dedented


def test_capture_lambda():
    square = lambda x: x * x  # noqa: E731
    assert capture(square) == "lambda x: x * x"
    with pytest.raises(CodeCaptureError):
        capture(print)


def test_runnable_modes():
    assert runnable("def f(b, a):\n    return a", ["b", "a", "X_SCHEMA"]) == \
        "def f(b, a):\n    return a\n\nresult = f(a=a, b=b)"
    assert runnable("a + b", ["a", "b"]) == "result = a + b"
    assert runnable("lambda x: x + 1", ["x"]) == "LAMBDA = lambda x: x + 1\nresult = LAMBDA(x=x)"
    block = "y = a * 2\nresult = y + 1"
    assert runnable(block, ["a"]) == block
    assert function_name("def g():\n    pass") == "g" and function_name("x = 1") is None
