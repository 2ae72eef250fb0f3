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
    code = (
        "import sys, rnnviz, rnnviz.cli, rnnviz.trace, rnnviz.rows, rnnviz.runs, rnnviz.evaluation;"
        "[getattr(rnnviz, n) for n in rnnviz.__all__];"
        "print(sorted(m for m in ('streamlit', 'plotly') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
