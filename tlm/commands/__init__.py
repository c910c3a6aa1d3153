"""Subcommands of `tlm`, one module each (see tlm/cli.py)."""
