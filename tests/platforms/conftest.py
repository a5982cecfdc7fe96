"""The volumes' real-mount fixture (an ext4 loop image mounted where a desktop mounts a card) serves the
platform's volume tests too."""

from tests.volumes.conftest import card_mount, no_leaked_threads, tmpfs_at

__all__ = ["card_mount", "no_leaked_threads", "tmpfs_at"]
