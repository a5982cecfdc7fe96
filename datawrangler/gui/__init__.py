"""The window (PySide6 only). See app.main."""
