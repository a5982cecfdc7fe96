"""The use cases, once each, between the front ends (cli, gui, auto-offload) and the services (core, store,
handoff, reports, volumes). Never imports Qt.

- inspection: recognise a card, name it under a preset, ask the catalog what it knows; auto_decision
- request: an OffloadRequest from a preset (window, auto-offload) or from command-line arguments; resume
- offload: run_offload, the one way an offload runs: history check, preflight, the catalog row, the
  recorded run (recorded), handoff files, the offload report, the verdict
- isolated: the same call in a worker process of its own (the window, auto-offload)
- scheduler: which queued offload may start, given which drives are busy
- auto: AutoOffloader, a mounted card offloaded with a preset without a click
- naming, drives: reels and roll folders from the catalog; the drives an offload touches
"""
