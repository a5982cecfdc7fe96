"""Printable reports rendered from the catalog, never from a run's memory.

- `query`: read-only SQL on the catalog connection (what the store's modules do not answer).
- `offload`, `day`, `redundancy`: build a report model (frozen dataclasses, `model`) from the catalog.
- `html`: the model through the Jinja2 templates of `datawrangler.resources/reports`.
- `csvout`: every table of a model as CSV.
- `pdf`: the HTML through Qt (QTextDocument on a QPdfWriter), with a header and "Page N of M" on every
  page. The only module here that imports Qt.
- `output`: write a report as PDF, HTML and CSV files; the app's reports folder.
"""
