"""How a revision's files are laid out and staged; shared by the gateway and runtimes.

Kept free of imports beyond `os`, because the worker process imports it at boot.
"""

from __future__ import annotations

import os

# A bundle's installed requirements.txt, beside its code; workers put it on sys.path.
DEPS_DIR = ".deps"


def link_or_copy(source: str, target: str) -> None:
    """Hard-link a file of an immutable bundle: sharing its inode costs no copy."""
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or links not allowed: copy
        import shutil

        shutil.copy2(source, target)
