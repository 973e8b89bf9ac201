"""Loopback fakes of the AI providers, for tests that go through the real SDKs over real HTTP."""

from tests.fakes.provider import Behaviour, FakeProvider, Recorded

__all__ = ["Behaviour", "FakeProvider", "Recorded"]
