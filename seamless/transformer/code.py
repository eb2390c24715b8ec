"""Python code: capturing a function's source as the code pin, and turning
code text back into something to run (identity.md §13, cli.md §6.5).

The code pin is the function's source as ``inspect.getsource`` returns it,
dedented, with leading decorator lines removed, and with exactly one
trailing newline (the text rule). A multi-line decorator call is removed as
a whole here (the reference removes only lines that start with ``@``, which
leaves the rest of such a call behind and breaks the code); for every
decorator that fits on its line the text, and so the checksum, is the
reference's.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any, Callable


class CodeCaptureError(ValueError):
    """The source of a function cannot be found or used."""


def capture(func: Callable[..., Any]) -> str:
    """The code text of func (without its trailing newline)."""
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError) as exc:
        raise CodeCaptureError(f"cannot read the source of {func!r} ({exc}); define it in a file, or pass "
                               "the code as a string") from None
    source = textwrap.dedent(source)
    if getattr(func, "__name__", None) == "<lambda>":
        return _lambda_text(source)
    return _strip_decorators(source).rstrip("\n")


def _strip_decorators(source: str) -> str:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        lines = source.splitlines(keepends=True)
        while lines and lines[0].startswith("@"):
            lines.pop(0)
        return "".join(lines)
    node = tree.body[0] if tree.body else None
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.decorator_list:
        lines = source.splitlines(keepends=True)
        start = node.lineno - 1  # the def line (decorators come before it)
        return "".join(lines[start:])
    return source


def _lambda_text(source: str) -> str:
    """The lambda expression of a one-line definition such as
    ``f = lambda x: x + 1`` or ``direct(lambda x: x + 1)``."""
    text = source.strip()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        raise CodeCaptureError(f"cannot isolate the lambda in {text!r}; use a def") from None
    lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
    if len(lambdas) != 1:
        raise CodeCaptureError(f"cannot isolate one lambda in {text!r}; use a def")
    segment = ast.get_source_segment(text, lambdas[0])
    assert segment is not None
    return segment


def function_name(code: str) -> str | None:
    """The name of the single def that the code consists of, else None."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    if len(tree.body) == 1 and isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return tree.body[0].name
    return None


def runnable(code: str, inputs: list[str]) -> str:
    """Code that leaves the transformer's value in ``result``: a single def
    is called with the inputs as keywords; a one-line expression or lambda
    is evaluated; anything else must assign ``result`` itself."""
    args = ", ".join(f"{name}={name}" for name in sorted(inputs) if not name.endswith("_SCHEMA"))
    name = function_name(code)
    if name is not None:
        return f"{code}\n\nresult = {name}({args})"
    stripped = code.strip()
    if "\n" not in stripped:
        try:
            tree = ast.parse(stripped, mode="eval")
        except SyntaxError:
            return code
        if isinstance(tree.body, ast.Lambda):
            return f"LAMBDA = {stripped}\nresult = LAMBDA({args})"
        return f"result = {stripped}"
    return code
