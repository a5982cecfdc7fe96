"""Clip media: metadata (PyAV/FFmpeg for MOV/MP4/MXF/MTS, Broadcast WAV bext/iXML, Sony and Canon XML
sidecars), image-sequence ranges and gaps, possibly damaged clips, thumbnails. Read from verified
destination copies, never from the card. Below `app`, beside `reports`/`handoff`/`volumes`; imports `core`
only (the clip model is `core.clips`), never the catalog or Qt."""
