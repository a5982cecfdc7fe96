"""DataWrangler: verified camera-card offloads for the DIT."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("datawrangler")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
