"""Money as every layer needs it: the spending caps and the price of an answer."""

__all__: list[str] = []
