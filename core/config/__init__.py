"""Configuration: credentials.json and the environment, validated into `Settings`; every default."""

__all__: list[str] = []
