"""`serve --http` at its edges, over real sockets: the Host check on every path, no stream for a GET to
`/mcp`, and request bodies that are too large (however framed) or cut short by a client that hangs up."""

from __future__ import annotations

import socket
import threading

import anyio
import httpx2
import pytest

from core.config.http import HttpSettings
from core.config.settings import Settings
from serve.http.app import transport_security
from serve.http.body import too_large
from tests.serve import test_http
from tests.serve.test_http import ACCEPT, CANARY, LIST, HttpServer

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {CANARY}"}
credentials, served = test_http.credentials, test_http.served  # the fixtures: a server alice may call


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/mcp"])
async def test_every_path_refuses_a_host_it_does_not_serve_so_a_rebinding_page_reads_nothing(
    served: HttpServer, path: str
) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        foreign = await http.request(
            "POST" if path == "/mcp" else "GET",
            f"{served.url}{path}",
            headers={**ACCEPT, **AUTH, "Host": "evil.example"},
        )
        local = await http.get(f"{served.url}/healthz", headers={"Host": f"localhost:{served.port}"})
    assert foreign.status_code == 421, foreign.text
    assert "status" not in foreign.text and "junior_ai" not in foreign.text
    assert local.status_code == 200


@pytest.mark.parametrize(
    ("host", "accepted", "refused"),
    [
        ("127.0.0.1", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765"], ["evil.example:8765", "127.0.0.1:80"]),
        ("0.0.0.0", ["0.0.0.0:8765", "127.0.0.1:8765", "localhost:8765"], ["evil.example:8765"]),  # a health check
        ("10.1.2.3", ["10.1.2.3:8765", "team.example"], ["localhost:8765", "evil.example"]),
    ],
)
def test_the_hosts_accepted_are_the_bound_address_its_local_names_and_the_configured(
    settings: Settings, host: str, accepted: list[str], refused: list[str]
) -> None:
    configured = settings.model_copy(update={"http": HttpSettings(allowed_hosts=("team.example",))})
    allowed = transport_security(host, 8765, configured).allowed_hosts
    assert set(accepted) <= set(allowed) and not set(refused) & set(allowed), allowed


async def test_a_get_to_mcp_is_405_as_a_stateless_server_offers_no_stream(served: HttpServer) -> None:
    with anyio.fail_after(30):
        async with httpx2.AsyncClient(timeout=10) as http:
            async with http.stream("GET", f"{served.url}/mcp", headers={**ACCEPT, **AUTH}) as response:
                status, allow = response.status_code, response.headers.get("allow")
    assert (status, allow) == (405, "POST")


PADDED = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"pad": "%s"}}'


def post_raw(port: int, body: bytes, *, chunked: bool, hang_up: bool = False) -> bytes:
    """POST `body` to /mcp on a socket of its own; the response's bytes, or b"" when `hang_up` closes the
    socket after the first half of the body."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {CANARY}\r\n"
        f"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{framing}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode())
        if hang_up:
            sock.sendall(body[: len(body) // 2])
            return b""
        received = bytearray()  # read while sending: the answer may come (and the socket close) mid-body
        reader = threading.Thread(target=_read_all, args=(sock, received), daemon=True)
        reader.start()
        try:
            for start in range(0, len(body), 1 << 16):
                piece = body[start : start + (1 << 16)]
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
            sock.sendall(b"0\r\n\r\n" if chunked else b"")
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed before the whole body was sent: its answer counts
            pass
        reader.join(30)
    return bytes(received)


def _read_all(sock: socket.socket, into: bytearray) -> None:
    try:
        while chunk := sock.recv(1 << 16):
            into.extend(chunk)
    except OSError:
        pass


@pytest.mark.parametrize("megabytes", [5, 40])
@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
async def test_a_body_over_the_limit_is_413_however_large_and_however_framed(
    served: HttpServer, megabytes: int, chunked: bool
) -> None:
    body = (
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"pad": "' + b"x" * (megabytes << 20) + b'"}}'
    )
    with anyio.fail_after(60):
        answer = await anyio.to_thread.run_sync(lambda: post_raw(served.port, body, chunked=chunked))
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large", answer[:300]
    assert too_large(4 * 1024 * 1024).body in rest


async def test_a_client_that_hangs_up_mid_body_is_one_quiet_line_and_the_server_goes_on(served: HttpServer) -> None:
    body = PADDED % (b"x" * 4000)
    quiet = "junior-ai INFO: POST /mcp: the client hung up after "
    with anyio.fail_after(30):
        await anyio.to_thread.run_sync(lambda: post_raw(served.port, body, chunked=False, hang_up=True))
        assert await anyio.to_thread.run_sync(served.wait_for_line, quiet, 20), "".join(served.lines)
        async with httpx2.AsyncClient(timeout=10) as http:
            listed = await http.post(f"{served.url}/mcp", json=LIST, headers={**ACCEPT, **AUTH})
    log = "".join(served.lines)
    assert listed.status_code == 200
    assert "ERROR" not in log and "Traceback" not in log and "ClientDisconnect" not in log, log
    assert "skipped a line on stdin" not in log, log
