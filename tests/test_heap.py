"""The heap a long-lived server freezes once its imports are in, so the collector's full passes
stay short."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest

from rnnviz.common.heap import freeze_after_imports


def test_the_heap_is_frozen_again_only_after_new_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rnnviz_heap_probe.py").write_text("TABLE = [[i] for i in range(1000)]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        freeze_after_imports()
        frozen = gc.get_freeze_count()
        assert freeze_after_imports() is False  # nothing imported since: nothing to do
        assert gc.get_freeze_count() == frozen
        import rnnviz_heap_probe  # noqa: F401  # a page's first run imports a module

        assert freeze_after_imports() is True
        assert gc.get_freeze_count() >= frozen + 1000  # its objects are out of the collector's way
        assert freeze_after_imports() is False
    finally:
        sys.modules.pop("rnnviz_heap_probe", None)
        gc.unfreeze()
