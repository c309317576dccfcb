"""The API's view of the database: the dataset of a group (or of every polymer), cached until the database changes.

The frame is :func:`aiida_polyinf.export.query.load_dataset`'s, the same rows and columns as ``polyinf export``; a
search is :func:`aiida_polyinf.export.select.apply` on it. The cache key is the group and the largest node id, read
with one indexed query per request: a new value Dict (or anything new) invalidates it.
"""

from __future__ import annotations

import threading

from aiida import orm

from ..data.polymer import PolymerData

ALL = '*'


class Catalog:
    def __init__(self):
        self._lock = threading.Lock()
        self._frames: dict = {}

    @staticmethod
    def token() -> int:
        found = orm.QueryBuilder().append(orm.Node, project='id').order_by({orm.Node: {'id': 'desc'}}).first()
        return int(found[0]) if found else 0

    def frame(self, group: str | None):
        """The dataset of ``group`` (None: every polymer), from the cache when the database has not changed."""
        from ..export.query import load_dataset

        key = group or ALL
        token = self.token()
        with self._lock:
            cached = self._frames.get(key)
            if cached is not None and cached[0] == token:
                return cached[1]
        frame = load_dataset(group)
        with self._lock:
            self._frames[key] = (token, frame)
        return frame

    @staticmethod
    def groups() -> list[dict]:
        query = orm.QueryBuilder().append(orm.Group, tag='g', project=['label'])
        query.append(PolymerData, with_group='g', project='id')
        counts: dict[str, int] = {}
        for label, _ in query.iterall():
            counts[label] = counts.get(label, 0) + 1
        return [{'label': label, 'polymers': n} for label, n in sorted(counts.items())]

    @staticmethod
    def group_exists(label: str) -> bool:
        return bool(orm.QueryBuilder().append(orm.Group, filters={'label': label}).count())
