"""Aftercare's domain: forms, catalog, data policy, references, crypto and storage."""
