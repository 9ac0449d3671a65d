"""Brightness of one camera frame, as an instrument streams it over gRPC (standard library only).

A frame is the JSON the gRPC document's clients send: {"key": n, "data": "<base64 of the raw pixels>"}.
"""
import base64


def brightness(frame: dict) -> dict:
    """Mean, minimum and maximum pixel value of an 8-bit frame, and how many bytes it had."""
    pixels = base64.b64decode(frame['data'])
    if len(pixels) == 0:
        raise ValueError('frame %r is empty' % (frame.get('key'),))
    return {'mean': sum(pixels) / len(pixels), 'min': min(pixels), 'max': max(pixels), 'bytes': len(pixels)}
