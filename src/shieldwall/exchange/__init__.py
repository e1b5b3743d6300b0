"""Import and export of hash lists."""

from shieldwall.exchange.bank_file import BankFileFormat, read_entries, write_entries

__all__ = ["BankFileFormat", "read_entries", "write_entries"]
