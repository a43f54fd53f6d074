"""The README's browser mode: `textual serve "batchtui --demo"` serves the dashboard – its page answers and a
browser's websocket gets the dashboard's first screen (textual-serve, the library behind `textual serve`)."""

from __future__ import annotations

import asyncio
import shlex
import socket
import sys

import aiohttp
import pytest
from aiohttp import web

textual_serve = pytest.importorskip("textual_serve.server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_dashboard_serves_to_a_browser():
    port = _free_port()
    command = shlex.join([sys.executable, "-m", "batchtui.cli", "--demo", "--array-size", "20", "--speed", "0"])
    server = textual_serve.Server(command, host="127.0.0.1", port=port)
    runner = web.AppRunner(await server._make_app(), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/") as page:
                assert page.status == 200 and "<html" in (await page.text()).lower()
            seen = b""
            async with http.ws_connect(f"ws://127.0.0.1:{port}/ws?width=120&height=40") as ws:
                async def first_screen() -> None:
                    nonlocal seen
                    async for msg in ws:
                        seen += msg.data if isinstance(msg.data, bytes) else str(msg.data).encode()
                        if b"ProdQueue" in seen:
                            return

                await asyncio.wait_for(first_screen(), 60)
            assert b"ProdQueue" in seen and b"batchtui" in seen
    finally:
        await runner.cleanup()
