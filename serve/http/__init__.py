"""`serve --http`: the Streamable HTTP app, its auth, rate limits, access log and metrics."""

__all__: list[str] = []
