import sys

from voyado_sync.sandbox.generator.cli import cli

if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
