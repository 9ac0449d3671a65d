"""DLHub runner: loads one servable and answers framed requests from the host.

Standard library only (Python >= 3.8): numpy and the model libraries are imported only when the
servable needs them. Inputs from the wire are JSON and raw buffers and are never unpickled; only
the servable's own model file is unpickled, because it is the servable's trusted code.

  wire.py      frames: uint32 BE len | uint32 BE header_len | UTF-8 JSON header | raw buffers
  values.py    values: JSON plus $ndarray / $bytes references to those buffers
  methods.py   one callable method: input coercion, batching, timing
  loaders/     one module per framework, registered in loaders/__init__.py
  runner.py    hello, describe, run, shutdown for one servable
  main.py      the serving loop and the process's streams

The protocol is specified in schemas/runner-protocol.json. The program is started as
`python3 dlhub_runner.py` (the file next to this package).
"""

VERSION = "0.2.0"
PROTOCOL = 1
