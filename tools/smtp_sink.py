"""A real SMTP server on loopback for tests: stores every received message as
<folder>/<n>.eml, prints "PORT <n>" once listening, and exits when stdin closes.

Usage: python3 tools/smtp_sink.py FOLDER
"""

import socket
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller


class Folder:
    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        tmp = self.folder / f".{n:06}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(self.folder / f"{n:06}.eml")
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    controller = Controller(Folder(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"PORT {port}", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
