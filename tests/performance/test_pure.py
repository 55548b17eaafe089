"""`monitor.performance` is pure like `monitor.drift`: importing it loads no database driver."""

from __future__ import annotations

import subprocess
import sys


def test_import_loads_no_sqlalchemy() -> None:
    code = (
        "import monitor.performance, sys; "
        "assert 'sqlalchemy' not in sys.modules, 'sqlalchemy loaded'; "
        "assert not [m for m in sys.modules if m.startswith('monitor.storage')], 'storage loaded'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
