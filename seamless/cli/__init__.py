"""Command-line tools. Each is ``main(argv=None) -> int`` (see common.run)."""
