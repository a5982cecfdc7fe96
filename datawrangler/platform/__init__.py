"""What each OS does for mounts, volume identity, process liveness, eject and keep-awake: one API, with
the OS's module picked here (borg's platform/ is the model).

`base` holds the types, the rules that hold everywhere and the portable fallbacks; `linux`, `macos` and
`windows` give what their OS does (`posix` is what Linux and macOS share). Everything else imports this
package, never an OS module. The lowest layer: it imports nothing else from datawrangler.

Durable I/O ("on the medium": sync, cache drop, read-back) still lives in `core.durable`.
"""

from __future__ import annotations

import sys

from datawrangler.platform.base import (
    FORBIDDEN_CHARS,
    RESTRICTED_FS,
    EjectResult,
    MountInfo,
    Volume,
    mounts_under,
    normalise_roots,
)

if sys.platform.startswith("linux"):
    from datawrangler.platform.linux import (
        MOUNTINFO,
        current,
        default_roots,
        describe,
        disk_links,
        disk_serial,
        eject,
        eject_commands,
        fstype,
        keep_awake,
        label_and_uuid,
        mount_of,
        mounts,
        physical_volume,
        process_alive,
        start_token,
        volume_at,
    )
elif sys.platform == "darwin":
    from datawrangler.platform.base import (
        MOUNTINFO,
        disk_links,
        disk_serial,
        fstype,
        mount_of,
        mounts,
        physical_volume,
        process_alive,
        start_token,
    )
    from datawrangler.platform.macos import (
        current,
        default_roots,
        describe,
        eject,
        eject_commands,
        keep_awake,
        label_and_uuid,
        volume_at,
    )
elif sys.platform == "win32":
    from datawrangler.platform.base import (
        MOUNTINFO,
        default_roots,
        disk_links,
        disk_serial,
        eject,
        eject_commands,
        fstype,
        mount_of,
        mounts,
        physical_volume,
        process_alive,
        start_token,
    )
    from datawrangler.platform.windows import current, describe, keep_awake, label_and_uuid, volume_at
else:
    from datawrangler.platform.base import (
        MOUNTINFO,
        current,
        default_roots,
        describe,
        disk_links,
        disk_serial,
        eject,
        eject_commands,
        fstype,
        keep_awake,
        label_and_uuid,
        mount_of,
        mounts,
        physical_volume,
        process_alive,
        start_token,
        volume_at,
    )

__all__ = [
    "FORBIDDEN_CHARS",
    "MOUNTINFO",
    "RESTRICTED_FS",
    "EjectResult",
    "MountInfo",
    "Volume",
    "current",
    "default_roots",
    "describe",
    "disk_links",
    "disk_serial",
    "eject",
    "eject_commands",
    "fstype",
    "keep_awake",
    "label_and_uuid",
    "mount_of",
    "mounts",
    "mounts_under",
    "normalise_roots",
    "physical_volume",
    "process_alive",
    "start_token",
    "volume_at",
]
