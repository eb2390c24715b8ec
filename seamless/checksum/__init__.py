"""Checksums of values, buffers, files and directories.

Submodules are imported on demand (numpy only when arrays are involved), so
that ``import seamless`` stays fast:

* ``calculate_checksum``: SHA-256 (or another algorithm) of bytes, files and
  batches, as lowercase hex;
* ``celltypes``: the celltype vocabulary;
* ``serialize`` / ``deserialize``: value <-> buffer, byte-identical to the
  reference implementation;
* ``jsonfmt``: the PLAIN-JSON and MIXED-JSON dialects;
* ``mixed``: the npy and mixed binary formats;
* ``directory``: deep checksums of directories (index buffers);
* ``sidecar``: ``.CHECKSUM`` files;
* ``algorithms``: SHA-256, SHA3-256 and BLAKE3 behind one interface;
* ``fingerprint``: the file-checksum cache keyed by XXH3 fingerprints.
"""
