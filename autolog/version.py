"""The package version, in the lowest layer so that the CLI and the package root both read it."""

__version__ = "0.1.0"
