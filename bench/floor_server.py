"""The floor for a cold first answer: an MCPServer that does what a plain raw-SDK server would.

    python bench/floor_server.py PORT

It imports openai and google.genai at start, builds its six SDK clients at start (AsyncOpenAI x5 and
genai.Client x1, against the loopback fake provider on PORT, retries off), and has one tool,
ask_all_ais, that asks all six the same prompt with asyncio.gather.
"""

import asyncio
import sys

import openai
from google import genai
from google.genai import types
from mcp.server.mcpserver import MCPServer

OPENAI_KIND = ("openai", "grok", "deepseek", "openrouter", "ollama")
MODEL = "bench-model"

port = int(sys.argv[1])
clients = {
    name: openai.AsyncOpenAI(api_key="bench-key", base_url=f"http://127.0.0.1:{port}/{name}/v1", max_retries=0)
    for name in OPENAI_KIND
}
gemini = genai.Client(
    api_key="bench-key",
    http_options=types.HttpOptions(base_url=f"http://127.0.0.1:{port}/gemini", api_version="v1"),
)
server = MCPServer("floor")


async def ask_openai(name: str, prompt: str) -> str:
    answer = await clients[name].chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}])
    return answer.choices[0].message.content or ""


async def ask_gemini(prompt: str) -> str:
    answer = await gemini.aio.models.generate_content(model="gemini-2.5-flash", contents=prompt)
    return answer.text or ""


@server.tool()
async def ask_all_ais(prompt: str) -> str:
    """Ask all six AIs the same prompt at once."""
    answers = await asyncio.gather(ask_gemini(prompt), *(ask_openai(name, prompt) for name in OPENAI_KIND))
    return "\n\n".join(answers)


if __name__ == "__main__":
    server.run()
