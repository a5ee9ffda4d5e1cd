"""dvcops kernel: the province catalogue, settings, state directory, lab and CLI shared by every part."""

__version__ = "0.1.0"
