"""Keep the garbage collector's full passes short on a long-lived server.

A server that has imported torch, Plotly, pandas and Streamlit holds about half a million objects
the collector tracks, and they live as long as the process. Each full pass of the collector walks
them all (about 0.2 s on a 2-core CPU), holding the interpreter's lock: every page run and every
training thread of the process stops meanwhile, and with a class watching it comes every few
seconds. `gc.freeze()` moves every object alive now out of the collector's reach for good; done
once the imports are in, the full passes walk only what was made since.
"""

from __future__ import annotations

import gc
import sys
import threading

_lock = threading.Lock()
_modules = 0  # how many modules were loaded at the last freeze


def freeze_after_imports() -> bool:
    """Freeze the heap if modules were imported since the last freeze (a page's first run loads
    its own); True if it froze. What is garbage already at that moment, and freezes with the
    rest, is never freed: a little, once per new import."""
    global _modules
    with _lock:
        loaded = len(sys.modules)
        if loaded == _modules:
            return False
        _modules = loaded
    gc.freeze()
    return True
