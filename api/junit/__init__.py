"""JUnit XML ingestion: a pure, streaming, hardened parser (rules in :mod:`api.junit.parser`)."""

from api.junit.model import CaseTotals, JunitParseError, ParsedJunit, TooManyTestcases
from api.junit.parser import parse_junit

__all__ = ["CaseTotals", "JunitParseError", "ParsedJunit", "TooManyTestcases", "parse_junit"]
