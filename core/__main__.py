import sys

from .cli import main

if __name__ == "__main__":  # not when a child process (core.prefetch) imports the main module
    sys.exit(main())
