#!/usr/bin/env python3
"""An instrument that streams camera frames to `dlhub serve --grpc` and prints one answer per frame.

Copy this file next to stubs generated from DLHub Desktop's schemas/stream.proto:
    python3 -m grpc_tools.protoc -I path/to/schemas --python_out=. --grpc_python_out=. stream.proto
(Debian: apt-get install python3-grpcio python3-grpc-tools). Then:
    DLHUB_PASSWORD=... python3 instrument.py --address 127.0.0.1:9010 --model frame-brightness --user lab1 --frames 100

It follows the steps of the `redhare` stream.proto document: auth() with the model, user name and
password gives the address to stream to and a token; stream_infer() takes the token first, then one
frame per message ({"key": n, "data": base64 pixels} as JSON), and answers each frame in order. Replace
`camera_frames` with your camera's frames.
"""
import argparse
import base64
import getpass
import json
import os
import sys
import time

import grpc

import stream_pb2
import stream_pb2_grpc


def camera_frames(count, width, height):
    """Stand-in for a camera: synthetic 8-bit frames of width x height pixels."""
    for n in range(count):
        yield bytes((n + x) % 256 for x in range(width)) * height


def channel_to(address, ca_file):
    if ca_file:
        with open(ca_file, 'rb') as f:
            return grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=f.read()))
    return grpc.insecure_channel(address)


def authenticate(address, ca_file, model, user, password):
    with channel_to(address, ca_file) as channel:
        stub = stream_pb2_grpc.InferenceStub(channel)
        request = stream_pb2.AuthRequest()
        request.attributes["model_name"] = model
        request.attributes["user_name"] = user
        request.attributes["password"] = password
        return stub.auth(request)


def requests(token, frames, fps):
    auth_request = stream_pb2.Request()
    auth_request.token = token
    yield auth_request
    start = time.monotonic()
    for count, img_data in enumerate(frames):
        if fps > 0:
            time.sleep(max(0.0, start + count / fps - time.monotonic()))
        tinput = {'key': count, 'data': base64.b64encode(img_data).decode('utf-8')}
        request = stream_pb2.Request()
        request.data = json.dumps(tinput).encode('utf-8')
        yield request


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--address', default='127.0.0.1:9010', help='where dlhub serve --grpc listens')
    parser.add_argument('--model', default='frame-brightness')
    parser.add_argument('--user', required=True)
    parser.add_argument('--frames', type=int, default=100)
    parser.add_argument('--fps', type=float, default=30, help='frames per second (0: as fast as the service takes them)')
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--ca', help='PEM certificate to trust when the service speaks TLS (--grpc-cert)')
    args = parser.parse_args()
    password = os.environ.get('DLHUB_PASSWORD') or getpass.getpass('password for %s: ' % args.user)

    try:
        auth = authenticate(args.address, args.ca, args.model, args.user, password)
    except grpc.RpcError as e:
        print('authentication failed: %s %s' % (e.code().name, e.details()), file=sys.stderr)
        return 1

    with channel_to(auth.url, args.ca) as channel:
        stub = stream_pb2_grpc.InferenceStub(channel)
        frames = camera_frames(args.frames, args.width, args.height)
        try:
            for response in stub.stream_infer(requests(auth.token, frames, args.fps)):
                answer = json.loads(response.data.decode('utf-8'))
                if 'error' in answer:
                    # One frame failed (the model raised); the stream goes on with the next frame.
                    print('frame %s: %s %s' % (answer.get('key'), answer['error']['status'], answer['error']['message']))
                else:
                    print('frame %s: %s' % (answer.get('key'), json.dumps(answer['output'])))
        except grpc.RpcError as e:
            # The stream ended: UNAUTHENTICATED (token expired: authenticate again), RESOURCE_EXHAUSTED
            # (a frame over the service's limit), UNAVAILABLE (the service went away), ...
            print('stream ended: %s %s' % (e.code().name, e.details()), file=sys.stderr)
            return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
