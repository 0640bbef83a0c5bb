"""Formal reviews at scheduled weeks of treatment (per pathway)."""
