"""What every part shares: configuration, the client registry, the error tree."""
