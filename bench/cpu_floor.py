"""The floor of the CPU-per-call row: a bare MCPServer whose one tool makes the raw openai call.

    python bench/cpu_floor.py PORT                  # over stdio
    python bench/cpu_floor.py PORT --http HTTP_PORT # over Streamable HTTP, stateless, as `serve --http` is

`ask_ai(ai, prompt)` asks the loopback fake provider on PORT through one `AsyncOpenAI` per AI (built at the
first call, retries off) with `chat.completions.create`, and returns the answer's text: what the two SDKs
(mcp and openai) cost for one call, with nothing of ours around it.
"""

import argparse

import openai
from mcp.server.mcpserver import MCPServer

MODEL = "grok-3-mini"

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("--http", type=int, default=None, help="serve over HTTP on this loopback port")
args = parser.parse_args()
clients: dict[str, openai.AsyncOpenAI] = {}
server = MCPServer("floor")


@server.tool()
async def ask_ai(ai: str, prompt: str) -> str:
    """Ask one AI."""
    if ai not in clients:
        base_url = f"http://127.0.0.1:{args.port}/{ai}/v1"
        clients[ai] = openai.AsyncOpenAI(api_key="bench-key-0000000000", base_url=base_url, max_retries=0)
    answer = await clients[ai].chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}])
    return answer.choices[0].message.content or ""


if __name__ == "__main__":
    if args.http is None:
        server.run()
    else:
        import uvicorn

        app = server.streamable_http_app(stateless_http=True)
        uvicorn.run(app, host="127.0.0.1", port=args.http, log_level="warning", access_log=False)
