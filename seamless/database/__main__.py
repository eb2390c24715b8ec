"""``python -m seamless.database``: the seamless-database command."""

import sys

from .cli import main

sys.exit(main())
