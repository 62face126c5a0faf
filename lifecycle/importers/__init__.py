"""Importers: an export file in, candidate facts or rejections out. They never touch the
store; `registry` holds every format."""
