"""Frames: uint32 BE len (bytes after it) | uint32 BE header_len | UTF-8 JSON header | raw buffers.

header.buffers lists the byte lengths of the raw buffers (omitted when there are none).
"""
import json
import math
import re
import struct
import sys

from .errors import RunnerError

_U32 = struct.Struct(">I")
_PREFIX = struct.Struct(">II")
_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_DISCARD_CHUNK = 1 << 20
# The host writes `{"id":N,` first, so a request's id can be found even when its header is not JSON.
_ID_PREFIX = re.compile(rb'\A\{"id":(\d{1,15})[,}]')


class FrameError(RunnerError):
    """A frame that was read whole but cannot be answered: the stream is still in step, so only
    this request fails (rid is recovered from the header's start when possible)."""

    def __init__(self, rid, kind, message, type_="ValueError"):
        RunnerError.__init__(self, kind, message, type_)
        self.rid = rid


def _recover_id(head):
    match = _ID_PREFIX.match(bytes(head[:32]))
    return int(match.group(1)) if match else None


def read_frame(reader, max_bytes):
    """Read one frame: (header, buffers), or None at a clean end of stream.

    A frame that is oversize or malformed raises FrameError after all its bytes were consumed, so
    the next frame can still be read; EOFError means the stream ended inside a frame.
    """
    head = reader.read(4)
    if not head:
        return None
    if len(head) < 4:
        raise EOFError("stream ended inside a frame")
    (size,) = _U32.unpack(head)
    if size > max_bytes or size < 4:
        first = _discard(reader, size)  # never allocate what the length field claims
        rid = _recover_id(first[4:]) if len(first) >= 4 else None
        raise FrameError(rid, "protocol", "frame of %d bytes is outside 4..%d bytes" % (size, max_bytes))
    body = bytearray(size)  # writable, so numpy arrays made on it are writable too
    view = memoryview(body)
    got = 0
    while got < size:
        n = reader.readinto(view[got:])
        if not n:
            raise EOFError("stream ended inside a frame")
        got += n
    (header_len,) = _U32.unpack_from(body, 0)
    raw = view[4:4 + header_len]
    rid = _recover_id(raw)
    if header_len > size - 4:
        raise FrameError(rid, "protocol", "header length %d exceeds the frame body of %d bytes" % (header_len, size))
    try:
        header = json.loads(bytes(raw))
    except RecursionError:
        raise FrameError(rid, "input", "the request is nested too deeply for the runner to decode (Python's recursion limit is %d); "
                         "send a flatter input" % sys.getrecursionlimit(), "RecursionError")
    except (ValueError, UnicodeDecodeError) as e:
        raise FrameError(rid, "protocol", "frame header is not JSON (%s)" % e, type(e).__name__)
    if not isinstance(header, dict):
        raise FrameError(rid, "protocol", "frame header is not a JSON object")
    if isinstance(header.get("id"), int) and not isinstance(header.get("id"), bool):
        rid = header["id"]
    lengths = header.get("buffers") or []
    if not isinstance(lengths, list):
        raise FrameError(rid, "protocol", "header.buffers is not a list")
    buffers, offset = [], 4 + header_len
    for n in lengths:
        if not isinstance(n, int) or isinstance(n, bool) or n < 0 or offset + n > size:
            raise FrameError(rid, "protocol", "buffer length %r does not fit in the frame" % (n,))
        buffers.append(view[offset:offset + n])
        offset += n
    if offset != size:
        raise FrameError(rid, "protocol", "header.buffers add up to %d bytes but the frame carries %d" % (offset - 4 - header_len, size - 4 - header_len))
    return header, buffers


def _discard(reader, size):
    """Skip `size` bytes in bounded chunks; returns the first chunk (to recover the request id)."""
    first, left = b"", size
    while left > 0:
        chunk = reader.read(min(left, _DISCARD_CHUNK))
        if not chunk:
            raise EOFError("stream ended inside a frame")
        if not first:
            first = chunk
        left -= len(chunk)
    return first


def write_frame(writer, header, buffers):
    """Write one frame and flush it."""
    if buffers:
        header["buffers"] = [memoryview(b).nbytes for b in buffers]
    try:
        data = _encode_json(header).encode("utf-8")
    except RecursionError:  # an output nested too deeply for the JSON encoder: answer with an error instead
        buffers = []
        data = _encode_json({"id": header.get("id"), "ok": False, "error": RunnerError(
            "model", "the output is nested too deeply to send (Python's recursion limit is %d)" % sys.getrecursionlimit(),
            "RecursionError").to_wire()}).encode("utf-8")
    except ValueError:
        # NaN or Infinity outside a model's output (run outputs carry them in ndarrays): a dlhub.json read by
        # Python's json module may hold them. JSON has no such numbers; metadata shows them as null.
        data = _encode_json(_finite(header)).encode("utf-8")
    size = 4 + len(data) + sum(memoryview(b).nbytes for b in buffers)
    writer.write(_PREFIX.pack(size, len(data)) + data)
    for b in buffers:
        writer.write(b)
    writer.flush()


def _finite(value):
    """A copy of a JSON value with every NaN and Infinity made null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value
