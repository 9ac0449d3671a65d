"""`python3 -m dlhub_runner` (with resources/runner on the path) runs the runner too."""
import sys

from .main import main

sys.exit(main(sys.argv[1:]))
