"""Shipped benchmark configs (TOML data files; see ``imputebench run NAME``)."""
