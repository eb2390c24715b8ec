"""Golden identities (identity.md §12), through the API and through the
database records."""

from __future__ import annotations

import sqlite3

import pytest

from seamless import Buffer, Checksum
from seamless.transformer import delayed, direct
from seamless.transformer.identity import (TransformationDictError, dunder_envelope, identity_dict,
                                           transformation_checksum)

ADD_TF = "7e06538015b738a10ce09a4a79d814e2c017b8de63b258e77f7a0a282def1434"
ADD_RESULT = "f0b5c2c2211c8d67ed15e75e656c7862d086e9245420892a7de62cd9ec582a06"
ECHO_TF = "706b247db5f69ec5dc5b452a1a9164089faed42eaab3d461b8dfdf3217a36550"


@delayed
def add(a, b):
    return a + b


def test_golden_add(memory):
    tf = add(2, 3)
    assert tf.transformation_checksum.hex() == ADD_TF
    assert tf.run() == 5
    assert tf.result_checksum.hex() == ADD_RESULT == Buffer(b"5\n").get_checksum().hex()


def test_golden_add_dict():
    code = Buffer("def add(a, b):\n    return a + b", "python").get_checksum()
    tf_dict = {"__language__": "python", "__output__": ("result", "mixed", None),
               "a": ("mixed", None, Buffer(b"2\n").get_checksum()), "b": ("mixed", None, Buffer(b"3\n").get_checksum()),
               "code": ("python", "transformer", code)}
    assert transformation_checksum(tf_dict).hex() == ADD_TF
    # orthogonal keys and META__ pins never change it
    tf_dict.update(__meta__={"local": True}, __env__="ab" * 32, META__THREADS=("int", None, "cd" * 32),
                   __code_text__="x")
    assert transformation_checksum(tf_dict).hex() == ADD_TF
    assert set(dunder_envelope(tf_dict)) == {"__meta__", "__env__", "__code_text__"}


def test_golden_echo_hello_dict():
    code = Buffer("(\necho hello\n) > RESULT", "text").get_checksum()
    tf_dict = {"__language__": "bash", "__output__": ["result", "bytes", None], "code": ["text", None, code.hex()]}
    assert transformation_checksum(tf_dict).hex() == ECHO_TF


def test_bash_code_result_of_golden_echo(memory):
    result = direct("(\necho hello\n) > RESULT", "bash")
    result.celltypes.result = "bytes"
    assert result() == b"hello\n"


def test_unknown_dunder_and_bad_pins():
    with pytest.raises(TransformationDictError, match="Unknown transformation dunder key '__nope__'"):
        identity_dict({"__nope__": 1})
    with pytest.raises(TransformationDictError, match="pin 'a' must be"):
        identity_dict({"a": "x"})
    with pytest.raises(TransformationDictError, match="no checksum yet"):
        identity_dict({"a": ("mixed", None, None)})


def test_golden_records_in_the_database(cache):
    assert add(2, 3).run() == 5
    db = sqlite3.connect(cache / "__TOPLEVEL__" / "seamless.db")
    assert db.execute("SELECT result FROM transformation WHERE checksum = ?", (ADD_TF,)).fetchone() == (ADD_RESULT,)
    assert db.execute("SELECT checksum FROM rev_transformation WHERE result = ?", (ADD_RESULT,)).fetchall() == [(ADD_TF,)]
    # the identity buffer is in the buffer store, so the transformation can be rerun from its checksum
    assert Checksum(ADD_TF).resolve("plain")["code"][1] == "transformer"
