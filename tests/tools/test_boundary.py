"""The tool boundary, applied once at registration: every tool's errors are mapped and its answer rendered
there, whatever the tool, server_status included, and a failure while rendering too."""

from __future__ import annotations

import inspect
from typing import Annotated

import anyio
import pytest
from mcp import Client
from pydantic import BaseModel, Field

from callers import Junior
from core.config.settings import Settings
from core.errors import InvalidRequest
from serve.main import build_server
from tests.helpers import Served
from tools import ask, collab, status, threads
from tools.answer import Answer
from tools.boundary import add_tool
from tools.context import AppContext, app_of

pytestmark = pytest.mark.anyio


class Echo(BaseModel):
    said: str


class Unrenderable(BaseModel):
    """A structured result whose dump fails: a bug in rendering, not in the tool's work."""

    def model_dump(self, **_: object) -> dict[str, object]:  # type: ignore[override]
        raise ValueError("cannot dump this")


async def test_a_tool_body_reaches_the_application_through_its_context(settings: Settings) -> None:
    served = Served(settings)

    async def which_app(ctx: AppContext) -> Answer:
        app = app_of(ctx)
        return Answer(f"{len(app.guards)} guards", Echo(said=str(id(app))))

    add_tool(served.server, which_app, title="Which app", description="The application's identity.")
    async with Client(served.server) as client:
        result = await client.call_tool("which_app", {})
    assert not result.is_error
    assert result.structured_content == {"said": str(id(served.app))}
    assert result.content[0].text == f"{len(served.app.guards)} guards"  # type: ignore[union-attr]


async def test_typed_errors_become_tool_errors_the_model_can_read(settings: Settings) -> None:
    server = build_server(settings)

    async def refuses(text: Annotated[str, Field(description="Anything.")]) -> Answer:
        raise InvalidRequest(f"the input {text!r} is not acceptable: send a shorter one")

    add_tool(server, refuses, title="Refuses", description="Always refuses.")
    async with Client(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        result = await client.call_tool("refuses", {"text": "x"})
    assert tools["refuses"].input_schema["required"] == ["text"], "the body's parameters are the schema"
    assert tools["refuses"].output_schema is None
    assert result.is_error
    # The SDK names the tool; the rest is our message, whole.
    text = result.content[0].text  # type: ignore[union-attr]
    assert text == "Error executing tool refuses: the input 'x' is not acceptable: send a shorter one"


@pytest.mark.parametrize("failure", ["in the body", "while rendering"])
async def test_a_bug_is_logged_and_reported_without_internals(
    settings: Settings, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = build_server(settings)

    async def buggy() -> Answer:
        if failure == "in the body":
            raise KeyError("internal detail")
        return Answer("text", Unrenderable())

    add_tool(server, buggy, title="Buggy", description="Fails.")
    async with Client(server) as client:
        result = await client.call_tool("buggy", {})
    text = result.content[0].text  # type: ignore[union-attr]
    error = "KeyError" if failure == "in the body" else "ValueError"
    assert result.is_error
    assert text == f"Error executing tool buggy: buggy failed with an internal error ({error}); see the server log"
    assert "internal detail" not in text and "cannot dump" not in text
    assert "buggy: unexpected error" in caplog.text


async def test_server_status_goes_through_the_boundary_too(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(app: Junior) -> object:
        raise RuntimeError("status is broken")

    monkeypatch.setattr("tools.status.server_status", broken)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("server_status", {})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.endswith("server_status failed with an internal error (RuntimeError); see the server log")


BODIES = {
    "ask_ai": ask.ask_ai,
    "ask_all_ais": ask.ask_all_ais,
    "ai_debate": collab.ai_debate,
    "collaborative_solve": collab.collaborative_solve,
    "ai_consensus": collab.ai_consensus,
    "threads": threads.threads,
    "server_status": status.status_tool,
}


async def test_every_tool_body_is_a_module_level_function_whose_parameters_are_the_tools_schema(
    settings: Settings,
) -> None:
    with anyio.fail_after(30):
        async with Client(build_server(settings)) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(BODIES) <= set(tools)
    for name, body in BODIES.items():
        assert inspect.iscoroutinefunction(body) and "<locals>" not in body.__qualname__, name
        parameters = [p for p in inspect.signature(body).parameters if p != "ctx"]
        schema = [p for p in tools[name].input_schema["properties"] if p not in {"max_cost_usd", "background"}]
        assert schema == parameters, name
