"""SQL over the read models, returning plain rows (the reports' only way to read)."""
