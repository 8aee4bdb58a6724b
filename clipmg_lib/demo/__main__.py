"""``python -m clipmg_lib.demo --out DIR [--seed 0] [--size small|default] [--force]``: see :mod:`.generate`."""
import sys

from .generate import main

sys.exit(main())
