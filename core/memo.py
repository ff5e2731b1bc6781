"""A bounded memo: a dict that forgets its least recently used entries past a size.

The price book memoizes what it priced (thousands of subscriptions share a few states). A
Celery worker keeps its book for its whole life, and honest data has many distinct states: an
unbounded memo grows with every state ever priced. This one keeps the `size` most recently
used, so a process's memory stays flat whatever the number of subscriptions it bills.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


class BoundedMemo(OrderedDict):
    """What a dict memo offers (`get`, `memo[key] = value`, `in`, `len`), least recently used
    first out once `size` is passed."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a memo keeps at least one entry")
        super().__init__()
        self.size = size
        self.hits = 0
        self.misses = 0

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            value = self[key]
        except KeyError:
            self.misses += 1
            return default
        self.move_to_end(key)  # used: last out
        self.hits += 1
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)
