"""Hash algorithm registry: several digests from one read.

Digests are lowercase hex of the canonical (big-endian) value, as `xxhsum` and `md5sum` print them;
C4 is the SMPTE ST 2114 id ("c4" + base58 of SHA-512, 90 characters). The names are ASC MHL's.
python-xxhash and hashlib release the GIL while hashing, so hashing threads run in parallel.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Protocol

import xxhash

from datawrangler.core.errors import Code, OffloadError


class Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...
    def hexdigest(self) -> str: ...


_C4_CHARSET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_C4_BODY = 88


def c4_from_sha512(digest: bytes) -> str:
    """Encode a SHA-512 digest as a C4 id: 'c4' + base58, left-padded with the zero digit to 90."""
    n = int.from_bytes(digest, "big")
    chars: list[str] = []
    while n:
        n, rem = divmod(n, 58)
        chars.append(_C4_CHARSET[rem])
    body = "".join(reversed(chars)).rjust(_C4_BODY, _C4_CHARSET[0])
    return "c4" + body


class C4Hasher:
    __slots__ = ("_sha",)

    def __init__(self) -> None:
        self._sha = hashlib.sha512()

    def update(self, data: bytes | memoryview, /) -> None:
        self._sha.update(data)

    def hexdigest(self) -> str:  # named for the protocol; a C4 id is base58, not hex
        return c4_from_sha512(self._sha.digest())


# Order is ASC MHL's order of hash elements inside a <hash> entry.
ALGORITHMS: dict[str, Callable[[], Hasher]] = {
    "c4": C4Hasher,
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "xxh128": xxhash.xxh3_128,
    "xxh3": xxhash.xxh3_64,
    "xxh64": xxhash.xxh64,
}
DEFAULT_ALGORITHMS: tuple[str, ...] = ("xxh64",)


def parse_algorithms(names: str | Iterable[str]) -> tuple[str, ...]:
    """'xxh64,md5' -> ('xxh64', 'md5'); the first is the primary. Unknown names are a clear error."""
    items = names.split(",") if isinstance(names, str) else list(names)
    out: list[str] = []
    for raw in items:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in ALGORITHMS:
            raise OffloadError(
                Code.UNKNOWN_HASH,
                f"Unknown hash algorithm {raw.strip()!r}. Choose from: {', '.join(ALGORITHMS)}.",
            )
        if name not in out:
            out.append(name)
    if not out:
        raise OffloadError(Code.UNKNOWN_HASH, f"No hash algorithm given. Choose from: {', '.join(ALGORITHMS)}.")
    return tuple(out)


def mhl_order(algorithms: Iterable[str]) -> list[str]:
    """The algorithms in the order ASC MHL lists them."""
    wanted = set(algorithms)
    return [name for name in ALGORITHMS if name in wanted]


class MultiHasher:
    """Feeds one stream of chunks to every selected algorithm."""

    __slots__ = ("_hashers", "algorithms")

    def __init__(self, algorithms: Iterable[str]) -> None:
        self.algorithms = tuple(algorithms)
        self._hashers = [ALGORITHMS[name]() for name in self.algorithms]

    def update(self, data: bytes | memoryview) -> None:
        for h in self._hashers:
            h.update(data)

    def hexdigests(self) -> dict[str, str]:
        return {name: h.hexdigest() for name, h in zip(self.algorithms, self._hashers, strict=True)}


def hash_file(path: str, algorithms: Iterable[str], chunk_size: int = 4 << 20) -> dict[str, str]:
    """Digests of a whole file (plain read: used by tools and tests, not by verification)."""
    mh = MultiHasher(algorithms)
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(chunk_size)
        view = memoryview(buf)
        while n := f.readinto(buf):
            mh.update(view[:n])
    return mh.hexdigests()
