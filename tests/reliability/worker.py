"""A worker process for the reliability tests (run as a script).

    worker.py STORE_DIR DB_PATH ACK_LOG DURABILITY SEED [COUNT]

Puts buffers and records transformations in a loop. After each put or set
returns, it appends a line to ACK_LOG: "B <checksum>" or "T <tf> <result>".
A line in the log therefore means "acknowledged"; the tests kill this
process at random moments and check that everything acknowledged survived.
"""

import os
import random
import sys

from seamless.database import ResultDB
from seamless.hashserver import BufferStore


def main() -> int:
    store_dir, db_path, ack_log, durability, seed = sys.argv[1:6]
    count = int(sys.argv[6]) if len(sys.argv) > 6 else 10**9
    rng = random.Random(int(seed))
    store = BufferStore(store_dir, durability=durability)
    db = ResultDB(db_path, synchronous="FULL" if durability == "fsync" else "NORMAL")
    log = os.open(ack_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    for _ in range(count):
        size = rng.choice([0, 10, 1000, 100_000, 5 << 20])
        shared = rng.random() < 0.3  # the same bytes as other workers
        data = (b"shared %d" % rng.randrange(50)) * (size // 10 + 1) if shared else rng.randbytes(size)
        checksum = store.put(data)
        os.write(log, b"B %s\n" % checksum.hex().encode())
        pairs = [(rng.randbytes(32).hex(), checksum.hex()) for _ in range(rng.choice([1, 1, 20]))]
        if len(pairs) == 1:
            db.set_transformation(*pairs[0])
        else:
            db.set_transformations(pairs)
        os.write(log, b"".join(b"T %s %s\n" % (tf.encode(), r.encode()) for tf, r in pairs))
    store.close()
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
