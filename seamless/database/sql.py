"""SQL statements shared by the parts of ResultDB."""

# A transformation row, unless the transformation is marked irreproducible
# or already has a row (then nothing happens and the caller looks closer).
INSERT_IF_REPRODUCIBLE = (
    'INSERT INTO "transformation" SELECT ?, ? WHERE NOT EXISTS '
    '(SELECT 1 FROM "irreproducible_transformation" WHERE "checksum" = ?) ON CONFLICT DO NOTHING'
)

# A reverse row (result, tf), unless it exists: the reference appends
# duplicates; we never do. Parameters: result, tf, result, tf.
ADD_REVERSE = (
    'INSERT INTO "rev_transformation" ("result", "checksum") SELECT ?, ? WHERE NOT EXISTS '
    '(SELECT 1 FROM "rev_transformation" WHERE "result" = ? AND "checksum" = ?)'
)
