"""Data files shipped with the forms engine (see README.md)."""
