"""The xdist scheduler of `--hil-dist`: each test goes only to a worker whose board can serve it.

- Known durations (pytest's cache, from earlier runs) go longest first; the rest in collection order,
  handed out two at a time so that workers able to run them share them.
- A test no worker's board can serve goes to any worker, which skips it with the reason (once).
- `roles` tests (several boards at once) run last, all on one worker (the first still up), after
  every other worker has finished: then no other process uses those boards, and the worker, which
  holds no leases of its own (the controller holds them all), opens them for that test.
- A worker whose board broke stops getting tests and leaves before running the test it holds (see
  `dist/worker.py`); everything it held comes back to the queue for compatible workers.

xdist keeps the last test sent to a worker waiting until another arrives or the worker is told to
shut down, so a worker with nothing more to do is shut down at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pytest_hil.dist.routes import Route

CHUNK = 2


class HilScheduling:
    """Implements xdist's `Scheduling` protocol."""

    def __init__(self, boards: dict[str, str], routes: dict[str, Route], durations: dict[str, float]) -> None:
        self.boards = boards  # gateway id -> board
        self.routes = routes
        self.durations = durations
        self.node2pending: dict[Any, list[int]] = {}
        self.node2collection: dict[Any, list[str]] = {}
        self.collection: list[str] | None = None
        self.pending: list[int] = []  # single-board (or unservable) tests not yet sent
        self.roles_pending: list[int] = []
        self.broken: set[str] = set()

    # the protocol

    @property
    def nodes(self) -> list[Any]:
        return list(self.node2pending)

    @property
    def collection_is_completed(self) -> bool:
        return len(self.node2collection) >= len(self.boards)

    @property
    def tests_finished(self) -> bool:
        if not self.collection_is_completed or self.pending or self.roles_pending:
            return False
        # a broken board's worker hands back what it holds: not finished while it holds anything
        return all(
            len(pending) < (1 if self.board_of(node) in self.broken else 2) for node, pending in self.node2pending.items()
        )

    @property
    def has_pending(self) -> bool:
        return bool(self.pending or self.roles_pending or any(self.node2pending.values()))

    def add_node(self, node: Any) -> None:
        self.node2pending[node] = []

    def add_node_collection(self, node: Any, collection: Sequence[str]) -> None:
        if self.collection is not None and list(collection) != self.collection:
            raise RuntimeError(f"{node.gateway.id} collected other tests than the other workers")
        self.node2collection[node] = list(collection)

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        self.node2pending[node].remove(item_index)
        for other in self.nodes:  # others may have been waiting for this one's queue (see _may_come_back)
            self._feed(other)

    def mark_test_pending(self, item: str) -> None:
        assert self.collection is not None
        self.pending.insert(0, self.collection.index(item))
        for node in self.nodes:
            self._feed(node)

    def remove_pending_tests_from_node(self, node: Any, indices: Sequence[int]) -> None:
        raise NotImplementedError("HilScheduling never steals")

    def remove_node(self, node: Any) -> str | None:
        pending = self.node2pending.pop(node)
        crashed = None
        if pending and self.board_of(node) not in self.broken:
            assert self.collection is not None
            crashed = self.collection[pending.pop(0)]
        self.pending[:0] = pending  # a broken board's worker left on purpose: none of these ran
        for other in self.nodes:
            self._feed(other)
        return crashed

    def schedule(self) -> None:
        if self.collection is None:
            first = next(iter(self.node2collection.values()))
            self.collection = first
            ordered = sorted(range(len(first)), key=lambda index: -self.durations.get(first[index], -1.0))
            for index in ordered:
                route = self.routes.get(first[index])
                (self.roles_pending if route is not None and route.roles is not None else self.pending).append(index)
        for node in self.nodes:
            self._feed(node)

    # choosing

    def board_of(self, node: Any) -> str:
        return self.boards[node.gateway.id]

    def mark_broken(self, board: str) -> None:
        """`board` broke: its worker gets nothing more (and leaves; `remove_node` takes its tests back)."""
        self.broken.add(board)
        for node in self.nodes:
            self._feed(node)

    def _servable(self, index: int, board: str) -> bool:
        assert self.collection is not None
        route = self.routes.get(self.collection[index])
        if route is None or route.reason is not None:
            return True  # not a board test, or one no board serves: any worker (it skips those)
        working = set(self.boards.values()) - self.broken
        if not working & set(route.candidates):
            return True  # no worker's board can serve it: any worker, which skips it saying why
        return board in route.candidates

    def _feed(self, node: Any) -> None:
        if node.shutting_down or self.collection is None:
            return
        board = self.board_of(node)
        pending = self.node2pending[node]
        if board not in self.broken:
            wanted = [index for index in self.pending if self._servable(index, board)]
            send = wanted[: max(CHUNK - len(pending), 0)] if len(pending) < CHUNK else []
            if send:
                for index in send:
                    self.pending.remove(index)
                pending.extend(send)
                node.send_runtest_some(send)
                return
            if any(self._servable(index, board) for index in self.pending):
                return  # more for this board later
            if self._may_come_back(node):
                return
        if self.roles_pending and self._runs_roles(node):
            if len(self.node2pending) == 1:  # every other worker has finished: the boards are free
                pending.extend(self.roles_pending)
                node.send_runtest_some(self.roles_pending)
                self.roles_pending = []
                node.shutdown()
            return
        node.shutdown()

    def _may_come_back(self, node: Any) -> bool:
        """Whether another worker holds a test this worker could serve that may come back: one beyond
        the test it runs (should its board break), or any on a broken board (it is leaving). A worker
        must still be up to take them. (A working worker holding one test is not waited for: it runs
        that test only once shut down.)"""
        board = self.board_of(node)
        return any(
            other is not node
            and any(self._servable(index, board) for index in (pending if self.board_of(other) in self.broken else pending[1:]))
            for other, pending in self.node2pending.items()
        )

    def _runs_roles(self, node: Any) -> bool:
        """The worker that runs the roles tests: the first one still up (all of them end up there)."""
        alive = [other for other in self.node2pending if not other.shutting_down]
        return bool(alive) and alive[0] is node
