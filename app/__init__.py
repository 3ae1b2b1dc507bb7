"""The application: the factory, its routes, middleware and lifespan (main.py is the command line)."""
