"""G-code: the reader (tokenizer + modal state machine), the writer and the post-processors.

- :func:`read` / :func:`read_file`: G-code text -> :class:`workbench.toolpath.Toolpath`
  (absolute machine coordinates in mm, one row per motion, source line numbers).
- :func:`write`: Toolpath + post-processor -> G-code text.
- :func:`load_post`, :func:`list_posts`, :class:`Post`: post-processors defined as data
  (``data/posts/*.json``).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "read": "reader", "read_file": "reader",
    "write": "writer", "write_file": "writer",
    "Post": "post", "load_post": "post", "list_posts": "post",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
