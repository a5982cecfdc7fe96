"""Hash algorithm registry (one `Algorithm` per name: factory, ASC MHL element and order, checksum-list
checker and form, MHL 1.1 element), and several digests from one read.

Digests are lowercase hex of the canonical (big-endian) value, as `xxhsum` and `md5sum` print them;
C4 is the SMPTE ST 2114 id ("c4" + base58 of SHA-512, 90 characters). The names are ASC MHL's.
python-xxhash and hashlib release the GIL while hashing, so hashing threads run in parallel.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Algorithm:
    """Everything the offload and the handoff files need to know of one hash algorithm, in one place."""

    name: str  # the name everywhere: settings, CLI, catalog, and ASC MHL's hash element
    factory: Callable[[], Hasher]
    checker: str | None = None  # the tool that checks a checksum list of it (`<checker> -c`); None: no list
    list_tag: str | None = None  # the tagged list form's tag (`XXH3 (<path>) = <hex>`); None: GNU `<hex>  <path>`
    mhl11_tag: str | None = None  # its element in a legacy MHL 1.1; None: MHL 1.1 cannot carry it

    @property
    def list_suffix(self) -> str:
        """The extension of its checksum list in a roll folder (A001R2EC_2023-10-14_224105Z.xxh64)."""
        return self.name


# In ASC MHL's order of hash elements inside a <hash> entry. MHL 1.1's xxHash64 element is the canonical
# (big-endian) <xxhash64be>: the old <xxhash64> is byte-reversed and never written. xxhsum tells xxh64 from
# xxh128 by length, but would take xxh3's 64-bit digests for xxh64: xxh3 lists use the tagged form.
REGISTRY: dict[str, Algorithm] = {a.name: a for a in (
    Algorithm("c4", C4Hasher),
    Algorithm("md5", hashlib.md5, checker="md5sum", mhl11_tag="md5"),
    Algorithm("sha1", hashlib.sha1, checker="sha1sum", mhl11_tag="sha1"),
    Algorithm("xxh128", xxhash.xxh3_128, checker="xxhsum"),
    Algorithm("xxh3", xxhash.xxh3_64, checker="xxhsum", list_tag="XXH3"),
    Algorithm("xxh64", xxhash.xxh64, checker="xxhsum", mhl11_tag="xxhash64be"),
)}
ALGORITHMS: tuple[str, ...] = tuple(REGISTRY)  # every name, in ASC MHL order
LIST_ALGORITHMS: tuple[str, ...] = tuple(a.name for a in REGISTRY.values() if a.checker)  # have a checksum list
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


def mhl_rank(name: str) -> int:
    """A sort key: the algorithm's place in ASC MHL's order."""
    return ALGORITHMS.index(name)


class MultiHasher:
    """Feeds one stream of chunks to every selected algorithm."""

    __slots__ = ("_hashers", "algorithms")

    def __init__(self, algorithms: Iterable[str]) -> None:
        self.algorithms = tuple(algorithms)
        self._hashers = [REGISTRY[name].factory() for name in self.algorithms]

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
