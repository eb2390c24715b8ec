"""Checksum: construction, forms, comparisons, sidecar files, resolution."""

from __future__ import annotations

import pytest

from seamless import Buffer, CacheMissError, Checksum
from seamless.exceptions import InvalidChecksumError, SeamlessError

HEX = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"  # b"hello\n"


class TestConstruction:
    def test_forms(self):
        """Hex (any case), 32 raw bytes and a Checksum give equal checksums."""
        cs = Checksum(HEX)
        assert Checksum(HEX.upper()) == cs == Checksum(bytes.fromhex(HEX)) == Checksum(cs)
        assert cs.hex() == str(cs) == HEX and cs.bytes() == bytes.fromhex(HEX)
        assert repr(cs) == repr(HEX)

    @pytest.mark.parametrize("bad", ["abc", HEX + "0", HEX[:-1] + "g", " " + HEX[1:], b"x" * 31])
    def test_malformed(self, bad):
        """Wrong length or non-hex is an InvalidChecksumError quoting the value."""
        with pytest.raises(InvalidChecksumError) as info:
            Checksum(bad)
        assert isinstance(info.value, ValueError) and isinstance(info.value, SeamlessError)
        assert repr(bad)[:20] in str(info.value)

    @pytest.mark.parametrize("bad", [None, 5, 1.5, ["a"]])
    def test_wrong_type(self, bad):
        """None and other types are a TypeError naming the type."""
        with pytest.raises(TypeError, match="None" if bad is None else type(bad).__name__):
            Checksum(bad)


class TestComparisons:
    def test_equality(self):
        """Equality with hex strings, bytes and bools; hashing by bytes."""
        cs = Checksum(HEX)
        assert cs == HEX and cs == HEX.upper() and cs == bytes.fromhex(HEX)
        assert cs == True and cs != False  # noqa: E712 - reference semantics
        assert cs != "abc" and cs != None and cs != 5  # noqa: E711
        assert len({cs, Checksum(HEX)}) == 1 and hash(cs) == hash(bytes.fromhex(HEX))

    def test_ordering(self):
        """Ordering compares bytes, or hex against a str."""
        low, high = Checksum("00" * 32), Checksum("ff" * 32)
        assert low < high and high > low and low <= low and high >= low
        assert low < "ff" * 32 and high > bytes(32)
        with pytest.raises(TypeError):
            low < 5  # noqa: B015


class TestSidecars:
    def test_save_and_load(self, tmp_path):
        """save writes hex + newline to NAME.CHECKSUM; load reads it back."""
        cs = Checksum(HEX)
        cs.save(tmp_path / "x")
        assert (tmp_path / "x.CHECKSUM").read_text() == HEX + "\n"
        assert Checksum.load(tmp_path / "x") == cs == Checksum.load(tmp_path / "x.CHECKSUM")

    @pytest.mark.parametrize("content", ["", "abc\n", HEX[:-1], "# comment\n" + HEX])
    def test_load_malformed(self, tmp_path, content):
        """A file without exactly one checksum is refused (the strict reader)."""
        (tmp_path / "y.CHECKSUM").write_text(content)
        with pytest.raises(ValueError, match="does not contain a SHA-256 checksum"):
            Checksum.load(tmp_path / "y")

    def test_load_missing(self, tmp_path):
        """A missing sidecar is a FileNotFoundError."""
        with pytest.raises(FileNotFoundError):
            Checksum.load(tmp_path / "nothing")


class TestResolution:
    def test_trivial(self):
        """The trivial checksums resolve without any storage."""
        empty = Checksum("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        assert empty.resolve().content == b""
        assert Checksum("ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356").resolve("plain") == {}

    def test_cached_buffer(self):
        """A buffer whose checksum was computed resolves while it is alive."""
        buf = Buffer("resolve me", "text")
        cs = buf.get_checksum()
        assert cs.resolve() is buf and cs.resolve("text") == "resolve me"

    def test_miss(self):
        """An unknown checksum is a CacheMissError (a LookupError)."""
        with pytest.raises(CacheMissError) as info:
            Checksum("12" * 32).resolve()
        assert isinstance(info.value, LookupError)

    def test_incref_keeps_buffer(self):
        """incref() keeps a buffer alive after the last reference is gone."""
        buf = Buffer(b"kept by incref")
        cs = buf.get_checksum()
        cs.incref()
        del buf
        import gc

        gc.collect()
        assert cs.resolve().content == b"kept by incref"
        cs.decref()
