"""How the server is served: the command line, stdio, Streamable HTTP, signals and shutdown."""

__all__: list[str] = []
