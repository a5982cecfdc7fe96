"""Printable reports rendered from the catalog, never from a run's memory.

- `query`: read-only SQL on the catalog connection (what the store's modules do not answer).
- `offload`, `day`, `redundancy`, `contact` (the contact sheet of a card or a day): build a report model
  (frozen dataclasses, `model`) from the catalog.
- `stages` (`stagemodel`): a cascading copy as the reports say it: stage 1 released the card and which stage-2
  offloads copy on from it; what a stage-2 offload, and each drive's copies of a card, were made from.
- `clipview`: the clips the catalog holds (`store.clips`) as the reports print them (`clipmodel`): timecode,
  duration at each clip's rate, format, flagged clips in words, thumbnails.
- `html`: the model through the Jinja2 templates of `datawrangler.resources/reports`; thumbnails inside an
  HTML file as data: URIs, named resources for the PDF.
- `csvout`: every table of a model as CSV.
- `pdf`: the HTML through Qt (QTextDocument on a QPdfWriter), with a header and "Page N of M" on every
  page, table rows kept on one page. The only module here that imports Qt.
- `output`: write a report as PDF, HTML and CSV files; the app's reports folder.
"""
