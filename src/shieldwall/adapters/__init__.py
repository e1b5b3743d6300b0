"""Adapters to the outside world (CLI now; API, console and bot later). Nothing imports them."""
