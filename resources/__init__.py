"""Runtime assets: card rules, report templates, icons, sounds (see README.md here)."""
