"""Shared with tests/volumes: the real-mount fixture and the thread-leak check."""

from tests.volumes.conftest import card_mount, no_leaked_threads

__all__ = ["card_mount", "no_leaked_threads"]
