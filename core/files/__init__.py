"""Files named in a call: the rules for what may be read, and reading them."""

__all__: list[str] = []
