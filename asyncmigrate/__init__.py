"""asyncmigrate core: configuration, the project index and call resolution, and the
catalogues of async and blocking APIs. Lint rules and codemods import from here;
nothing here imports them."""

__version__ = "0.1.0"
