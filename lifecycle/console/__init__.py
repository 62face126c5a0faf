"""The command line: click options, commands, rendering and progress."""
