#!/usr/bin/env python3
"""DLHub runner: the program runtimes start (`python3 dlhub_runner.py`, in the image and on the host).

The code is the dlhub_runner package beside this file: Python imports a package before a module of
the same name, so `import dlhub_runner` below finds the folder, not this file.
"""
import sys

from dlhub_runner.main import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
