"""numvars: tasks, symbolic programs, networks and DAS for the number-variables reproduction."""

__version__ = "0.1.0"
