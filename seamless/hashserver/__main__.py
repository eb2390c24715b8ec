"""python -m seamless.hashserver: the hashserver command."""

import sys

from .cli import main

sys.exit(main())
