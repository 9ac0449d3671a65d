"""The runner process: where frames come from and go to, and the serving loop."""
import os
import socket
import sys

from . import VERSION
from .runner import Runner
from .wire import FrameError, read_frame, write_frame

DEFAULT_SERVABLE_DIR = "/opt/dlhub/servable"


def serve(runner, reader, writer, max_bytes):
    """Answer requests one at a time until shutdown or end of stream; returns the exit code.

    A bad frame gets an error reply and the runner goes on with the next one: one hostile
    request must not take down a worker that other requests share.
    """
    while True:
        try:
            frame = read_frame(reader, max_bytes)
        except FrameError as e:
            write_frame(writer, {"id": e.rid, "ok": False, "error": e.to_wire()}, [])
            continue
        except EOFError:
            return 0
        if frame is None:
            return 0
        (response, buffers), keep_going = runner.handle(*frame)
        write_frame(writer, response, buffers)
        if not keep_going:
            return 0


def _stdio_streams():
    """Keep fd 0/1 for frames only: the model's prints go to stderr, its reads of stdin see nothing."""
    frames_in = os.fdopen(os.dup(0), "rb")
    frames_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout.flush()
    os.dup2(2, 1)
    return frames_in, frames_out


def main(argv):
    """Serve the servable in DLHUB_SERVABLE_DIR over DLHUB_SOCKET (a Unix socket) or, without it, stdin/stdout."""
    if "--version" in argv:
        print(VERSION)
        return 0
    max_bytes = int(os.environ.get("DLHUB_MAX_FRAME_BYTES") or (1 << 30))
    path = os.environ.get("DLHUB_SOCKET")
    if path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        reader, writer = sock.makefile("rb"), sock.makefile("wb")
    else:
        reader, writer = _stdio_streams()  # before loading, so prints during load are moved too
    runner = Runner(os.environ.get("DLHUB_SERVABLE_DIR") or DEFAULT_SERVABLE_DIR)
    try:
        return serve(runner, reader, writer, max_bytes)
    except (BrokenPipeError, ConnectionResetError):
        return 0
