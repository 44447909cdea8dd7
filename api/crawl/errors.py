"""The crawler's own error type, in a module of its own so that every other module can
import it without an import cycle."""

from __future__ import annotations


class ConfigError(ValueError):
    """crawl.yaml (or the flags) say something we cannot do; the message says what."""
