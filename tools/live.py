"""`make live`: serve the built book with live code on a local Jupyter server.

Starts two servers on the loopback interface:

- a Jupyter server (the venv's kernel, rooted at the repository, a random
  token, cross-origin requests allowed from the book's address only);
- an HTTP server for ``_build/html`` that adds, to every HTML page it sends, a
  Thebe configuration pointing at that Jupyter server instead of Binder.

In the book, the rocket menu's "Live Code" entry then starts a kernel on this
machine (tools/book_static/live-code.js); running the page's cells brings the
widgets to life. Ctrl-C stops both servers.
"""

import argparse
import functools
import http.server
import json
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "_build" / "html"


def thebe_config(host: str, jupyter_port: int, token: str) -> str:
    """The page fragment that sends Thebe to the local server (it wins over Binder's)."""
    config = {
        "useBinder": False,
        "requestKernel": True,
        "serverSettings": {
            "baseUrl": f"http://{host}:{jupyter_port}",
            "wsUrl": f"ws://{host}:{jupyter_port}",
            "token": token,
            "appendToken": True,
        },
    }
    return f'<script type="text/x-thebe-config">{json.dumps(config)}</script>\n'


class BookHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of the book; HTML pages get the local Thebe configuration."""

    def __init__(self, *args, injection: str, **kwargs):
        self.injection = injection.encode()
        super().__init__(*args, **kwargs)

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix != ".html" or not path.is_file():
            return super().send_head()
        body = path.read_bytes().replace(b"</body>", self.injection + b"</body>", 1)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return _Body(body)

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


class _Body:
    """A file-like object over bytes, which SimpleHTTPRequestHandler copies out."""

    def __init__(self, data: bytes):
        self.data = data

    def read(self, size: int = -1) -> bytes:
        data, self.data = (self.data, b"") if size < 0 else (self.data[:size], self.data[size:])
        return data

    def close(self) -> None:
        pass


def server_extensions() -> list[str]:
    """The Jupyter server extensions enabled here (JupyterLab, nbgrader, ...)."""
    from jupyter_core.paths import jupyter_config_path
    from jupyter_server.extension.config import ExtensionConfigManager

    manager = ExtensionConfigManager(read_config_path=jupyter_config_path())
    return sorted(manager.get_jpserver_extensions())


def start_jupyter(host: str, port: int, token: str, book_origin: str) -> subprocess.Popen:
    # Thebe needs kernels only: without the extensions (JupyterLab, nbgrader's
    # formgrader, ...) the server starts in seconds instead of tens of seconds.
    disabled = [f"--ServerApp.jpserver_extensions={name}=False" for name in server_extensions()]
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        f"--ServerApp.ip={host}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={ROOT}",
        f"--ServerApp.allow_origin={book_origin}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_root=True",  # CI and containers run as root
        "--ServerApp.log_level=WARN",
        *disabled,
    ]
    return subprocess.Popen(command, cwd=ROOT)


def wait_for_jupyter(host: str, port: int, token: str, process: subprocess.Popen) -> None:
    url = f"http://{host}:{port}/api/status?token={token}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"Jupyter サーバーが終了しました (終了コード {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("Jupyter サーバーが 60 秒以内に起動しませんでした")


def _stop(*_args) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="the book's port")
    parser.add_argument("--jupyter-port", type=int, default=8888)
    parser.add_argument("--book", type=Path, default=BOOK, help="the built HTML book")
    args = parser.parse_args()
    if not (args.book / "index.html").is_file():
        raise SystemExit(f"{args.book}/index.html がありません。先に make book を実行します。")

    token = secrets.token_hex(24)
    book_origin = f"http://{args.host}:{args.port}"
    handler = functools.partial(
        BookHandler,
        directory=str(args.book),
        injection=thebe_config(args.host, args.jupyter_port, token),
    )
    server = http.server.ThreadingHTTPServer((args.host, args.port), handler)
    jupyter = start_jupyter(args.host, args.jupyter_port, token, book_origin)
    signal.signal(signal.SIGTERM, _stop)
    try:
        wait_for_jupyter(args.host, args.jupyter_port, token, jupyter)
        print(
            f"本を {book_origin}/ で公開しています"
            f" (Jupyter: http://{args.host}:{args.jupyter_port})。\n"
            "ページ上部のロケットのボタン →「Live Code」でコードを実行できます。"
            "Ctrl-C で終了します。",
            flush=True,
        )
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        jupyter.terminate()
        try:
            jupyter.wait(timeout=10)
        except subprocess.TimeoutExpired:
            jupyter.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
