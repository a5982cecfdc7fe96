"""The offload itself and everything it needs. Pure Python: never imports Qt."""
