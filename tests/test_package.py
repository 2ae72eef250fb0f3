"""The package surface: every public name resolves, and the library never imports streamlit."""

from __future__ import annotations

import subprocess
import sys

import rnnviz

from .conftest import ROOT


def test_every_public_name_resolves() -> None:
    for name in rnnviz.__all__:
        assert getattr(rnnviz, name) is not None, name


def test_the_library_never_imports_streamlit_or_plotly() -> None:
    # Every library module but the figure builders (the one place plotly belongs).
    code = (
        "import sys, pkgutil, importlib, rnnviz;"
        "found = pkgutil.walk_packages(rnnviz.__path__, 'rnnviz.');"
        "[importlib.import_module(m.name) for m in found if not m.name.startswith('rnnviz.plots')];"
        "[getattr(rnnviz, n) for n in rnnviz.__all__];"
        "print(len(sys.modules), sorted(m for m in ('streamlit', 'plotly') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    count, found = out.stdout.strip().split(" ", 1)
    assert int(count) > 100 and found == "[]"  # the imports ran, and pulled in neither
