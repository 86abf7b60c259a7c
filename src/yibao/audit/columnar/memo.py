"""Work several columnar rules share over the same lines, done once per audit.

The engine calls each rule with the same :class:`~yibao.audit.model.Frames` and knowledge; a step
several rules begin with (the lines of the items some knowledge names: one pass over a million
lines) is remembered for that pair of objects, as long as the lines live, and rebuilt for any other.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

import polars as pl

from yibao.audit.knowledge import Knowledge
from yibao.audit.model import Frames

_Key = tuple[int, int, str]
_memo: dict[_Key, tuple[weakref.ref[pl.DataFrame], weakref.ref[Knowledge], pl.DataFrame]] = {}
_lock = threading.Lock()


def remembered(f: Frames, kb: Knowledge, name: str, build: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    """``build()`` for these lines and this knowledge, computed once while both are alive.

    Frames are not changed in place (polars operations return new frames), so the same objects
    give the same result.
    """
    key = (id(f.lines), id(kb), name)
    with _lock:
        hit = _memo.get(key)
    if hit is not None and hit[0]() is f.lines and hit[1]() is kb:
        return hit[2]
    value = build()

    def forget(_: object) -> None:
        with _lock:
            _memo.pop(key, None)

    with _lock:
        _memo[key] = (weakref.ref(f.lines, forget), weakref.ref(kb, forget), value)
    return value
