"""The commands of `lifecycle`, one module per group of jobs; `cli.py` adds them to the root."""
