"""One module per benchmark scenario; each returns a JSON-ready dict of figures."""
