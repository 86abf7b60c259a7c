"""Work several columnar rules share over the same frames, done once per audit.

The engine calls each rule with the same :class:`~yibao.audit.model.Frames` and knowledge; a step
several rules begin with (numbering the lines, a claim view: passes over millions of lines) is
remembered for those objects, as long as they live, and rebuilt for any other.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from yibao.audit.knowledge import Knowledge
from yibao.audit.model import Frames

T = TypeVar("T")
_memo: dict[tuple[Any, ...], tuple[tuple[weakref.ref[Any], ...], Any]] = {}
_lock = threading.Lock()


def remembered(f: Frames, kb: Knowledge | None, name: str, build: Callable[[], T]) -> T:
    """``build()`` for these frames (and this knowledge, unless None), computed once while they are alive.

    Frames are not changed in place (polars operations return new frames), so the same objects
    give the same result.
    """
    objs: tuple[object, ...] = (f.claims, f.lines, f.people) if kb is None else (f.claims, f.lines, f.people, kb)
    key = (name, *map(id, objs))
    with _lock:
        hit = _memo.get(key)
    if hit is not None and all(r() is o for r, o in zip(hit[0], objs, strict=True)):
        return hit[1]  # type: ignore[no-any-return]
    value = build()

    def forget(_: object) -> None:
        with _lock:
            _memo.pop(key, None)

    with _lock:
        _memo[key] = (tuple(weakref.ref(o, forget) for o in objs), value)
    return value
