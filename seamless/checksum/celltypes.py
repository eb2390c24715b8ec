"""The celltype vocabulary: how a value is turned into a buffer."""

from __future__ import annotations

from ..exceptions import CelltypeError

#: Celltypes with their own serialization rule.
CELLTYPES = (
    "binary",
    "mixed",
    "text",
    "python",
    "ipython",
    "plain",
    "yaml",
    "str",
    "bytes",
    "int",
    "float",
    "bool",
    "checksum",
)

#: Celltypes that name a structure but serialize as "plain".
PLAIN_ALIASES = ("deepcell", "deepfolder", "folder", "module")

#: Celltypes whose buffer is UTF-8 text.
TEXT_TYPES = ("text", "python", "ipython", "yaml", "str", "int", "float", "bool")

#: Text celltypes serialized by the text rule (exactly one trailing newline).
CODE_TYPES = ("text", "python", "ipython", "yaml")

#: Celltypes holding a JSON scalar (coerced on the way in and out).
SCALAR_TYPES = ("str", "int", "float", "bool")


def normalize_celltype(celltype: object) -> str:
    """The serialization celltype for a celltype name.

    deepcell, deepfolder, folder and module map to "plain".

    Raises:
        CelltypeError: unknown celltype (a TypeError, as in the reference).
    """
    if isinstance(celltype, str):
        if celltype in CELLTYPES:
            return celltype
        if celltype in PLAIN_ALIASES:
            return "plain"
    known = ", ".join(CELLTYPES + PLAIN_ALIASES)
    raise CelltypeError(f"unknown celltype {celltype!r}; known celltypes: {known}")
