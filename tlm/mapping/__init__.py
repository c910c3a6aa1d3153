"""Mapping: which macro holds which weight tile (packing, assignment, replication), when each piece of work runs (schedule), and the plan both engines execute."""
