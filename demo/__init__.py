"""The demo store: its catalog vocabulary as data (catalog.json), the generator and the loader."""
