from tlm.cli import entry

entry()
