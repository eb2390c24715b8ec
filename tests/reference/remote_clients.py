"""Drive the reference's seamless-remote (0.4.0) clients against a hashserver
and a database server; print what they saw as one JSON object.

Run with the reference virtualenv's interpreter:
    python remote_clients.py HASHSERVER_URL DATABASE_URL
"""

import asyncio
import hashlib
import json
import os
import sys

from seamless import Buffer, Checksum
from seamless_remote.buffer_client import BufferClient
from seamless_remote.database_client import DatabaseClient


async def main(hashserver_url, database_url):
    out = {}
    buffers = BufferClient(readonly=False)
    buffers.url = hashserver_url
    await buffers._wait_for_init()
    payloads = [b"interop\n", os.urandom(100_000), os.urandom(3 << 20)]
    checksums = [Checksum(hashlib.sha256(p).hexdigest()) for p in payloads]
    missing = Checksum("00" * 32)
    out["write"] = [await buffers.write(cs, Buffer(p)) for cs, p in zip(checksums, payloads)]
    out["rewrite"] = await buffers.write(checksums[0], Buffer(payloads[0]))
    out["lengths"] = await buffers.buffer_lengths(checksums + [missing])
    out["length_one"] = await buffers.buffer_length(checksums[1])
    got = [await buffers.get(cs) for cs in checksums]
    out["get_ok"] = [g is not None and g.content == p for g, p in zip(got, payloads)]
    promised = Checksum(hashlib.sha256(b"promised").hexdigest())
    await buffers.promise(promised)
    out["promised_length"] = await buffers.buffer_length(promised)
    await buffers.write(promised, Buffer(b"promised"))
    out["promised_get"] = (await buffers.get(promised)).content.decode()

    db = DatabaseClient(readonly=False)
    db.url = database_url
    await db._wait_for_init()
    tf, res = Checksum("aa" * 32), Checksum("bb" * 32)
    out["tf_missing"] = await db.get_transformation_result(tf)
    await db.set_transformation_result(tf, res)
    out["tf"] = str(await db.get_transformation_result(tf))
    out["rev"] = [str(c) for c in await db.get_rev_transformations(res)]
    tf2 = Checksum("cc" * 32)
    record = {"schema_version": 1, "tf_checksum": tf2.hex(), "result_checksum": res.hex(),
              "seamless_version": "0.6.1", "execution_mode": "process", "wall_time_seconds": 0.5}
    out["record_set"] = await db.set_execution_record(tf2, res, record)
    out["record"] = await db.get_execution_record(tf2)
    out["record_conflict"] = await db.set_execution_record(tf2, res, {**record, "wall_time_seconds": 9.0})
    await db.set_bucket_probe("node", "n1", Checksum("dd" * 32), {"a": 1}, "2026-11-24T00:00:00Z")
    out["probe"] = await db.get_bucket_probe("node", "n1")
    out["undo"] = await db.undo_transformation_result(tf, res)
    out["tf_after_undo"] = await db.get_transformation_result(tf)
    out["irreproducible"] = await db.get_irreproducible_records(tf)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
    os._exit(0)  # the reference clients keep background threads alive
