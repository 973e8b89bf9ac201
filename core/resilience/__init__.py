"""What stands between a call and a failing provider: deadlines, retries, breakers, limits, metrics."""

__all__: list[str] = []
