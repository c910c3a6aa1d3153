"""The functional (bit-accurate) model of the CIM macro and of whole networks, and the datasets."""
