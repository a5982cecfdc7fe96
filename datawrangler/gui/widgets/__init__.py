"""The window's views: panels for cards, destinations and the queue; tabs for history, reports, settings."""
