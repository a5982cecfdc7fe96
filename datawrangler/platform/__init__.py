"""What each OS does for "on the medium" (durable I/O), mounts, volume identity, process liveness, eject and
keep-awake: one API, with the OS's module picked here (borg's platform/ is the model).

`base` holds the types, the rules that hold everywhere and the portable fallbacks; `linux`, `macos` and
`windows` give what their OS does (`posix` is what Linux and macOS share). Everything else imports this
package, never an OS module. The lowest layer: it imports nothing else from datawrangler.

Removable media: `removable_media(mount) -> MediaCheck` says whether the OS calls a mount's device
removable (or on a hotplug bus), and why; `NETWORK_FS`, `PSEUDO_FS`, `is_network` and `SYSTEM_MOUNT_POINTS`
name what is never a card. `volumes.cards` decides what is a card from these and the user's roots.

Durable I/O: `sync_file`, `have_syncfs` + `sync_filesystem`, `sync_dir`, `make_dirs`, `drop_cache`, `resident_pages`,
`open_for_verify`, `rename_exclusive` (see base for the contract, each OS module for what it does).
"""

from __future__ import annotations

import sys

# The portable fallbacks first; then what the running OS does instead.
from datawrangler.platform.base import (
    FORBIDDEN_CHARS,
    MOUNTINFO,
    NETWORK_FS,
    PSEUDO_FS,
    RESTRICTED_FS,
    SYSTEM_MOUNT_POINTS,
    EjectResult,
    MediaCheck,
    MountInfo,
    Volume,
    current,
    default_roots,
    describe,
    disk_links,
    disk_serial,
    drop_cache,
    eject,
    eject_commands,
    fstype,
    have_syncfs,
    is_network,
    keep_awake,
    label_and_uuid,
    make_dirs,
    mount_of,
    mounts,
    mounts_under,
    normalise_roots,
    open_for_verify,
    physical_volume,
    process_alive,
    removable_media,
    rename_exclusive,
    resident_pages,
    start_token,
    sync_dir,
    sync_file,
    sync_filesystem,
    volume_at,
)

if sys.platform.startswith("linux"):
    from datawrangler.platform.linux import (  # type: ignore[assignment]
        MOUNTINFO,
        current,
        default_roots,
        describe,
        disk_links,
        disk_serial,
        drop_cache,
        eject,
        eject_commands,
        fstype,
        have_syncfs,
        keep_awake,
        label_and_uuid,
        mount_of,
        mounts,
        open_for_verify,
        physical_volume,
        process_alive,
        removable_media,
        rename_exclusive,
        resident_pages,
        start_token,
        sync_filesystem,
        volume_at,
    )
elif sys.platform == "darwin":
    from datawrangler.platform.macos import (  # type: ignore[assignment]
        current,
        default_roots,
        describe,
        drop_cache,
        eject,
        eject_commands,
        keep_awake,
        label_and_uuid,
        open_for_verify,
        removable_media,
        sync_file,
        volume_at,
    )
elif sys.platform == "win32":
    from datawrangler.platform.windows import (  # type: ignore[assignment]
        current,
        describe,
        keep_awake,
        label_and_uuid,
        removable_media,
        sync_dir,
        volume_at,
    )

__all__ = [
    "FORBIDDEN_CHARS",
    "MOUNTINFO",
    "NETWORK_FS",
    "PSEUDO_FS",
    "RESTRICTED_FS",
    "SYSTEM_MOUNT_POINTS",
    "EjectResult",
    "MediaCheck",
    "MountInfo",
    "Volume",
    "current",
    "default_roots",
    "describe",
    "disk_links",
    "disk_serial",
    "drop_cache",
    "eject",
    "eject_commands",
    "fstype",
    "have_syncfs",
    "is_network",
    "keep_awake",
    "label_and_uuid",
    "make_dirs",
    "mount_of",
    "mounts",
    "mounts_under",
    "normalise_roots",
    "open_for_verify",
    "physical_volume",
    "process_alive",
    "removable_media",
    "rename_exclusive",
    "resident_pages",
    "start_token",
    "sync_dir",
    "sync_file",
    "sync_filesystem",
    "volume_at",
]
