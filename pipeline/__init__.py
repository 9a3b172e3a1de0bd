"""ilid: industrial web catalogs -> language-image corpus."""

__version__ = "0.1.0"
