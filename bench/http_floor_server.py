"""The floor of the HTTP CPU figure: a bare MCPServer whose one tool makes the raw openai call, served over
the SDK's Streamable HTTP, stateless, under uvicorn, as `serve --http` is (without auth, limits or logs).

    python bench/http_floor_server.py PROVIDER_PORT HTTP_PORT
"""

import sys

import openai
import uvicorn
from mcp.server.mcpserver import MCPServer

MODEL = "bench-model"

provider_port, http_port = int(sys.argv[1]), int(sys.argv[2])
clients: dict[str, openai.AsyncOpenAI] = {}
server = MCPServer("floor")


@server.tool()
async def ask_ai(ai: str, prompt: str) -> str:
    """Ask one AI."""
    if ai not in clients:
        base_url = f"http://127.0.0.1:{provider_port}/{ai}/v1"
        clients[ai] = openai.AsyncOpenAI(api_key="bench-key-0000000000", base_url=base_url, max_retries=0)
    answer = await clients[ai].chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}])
    return answer.choices[0].message.content or ""


if __name__ == "__main__":
    app = server.streamable_http_app(stateless_http=True)
    uvicorn.run(app, host="127.0.0.1", port=http_port, log_level="warning", access_log=False)
