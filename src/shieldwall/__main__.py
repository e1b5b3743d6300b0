"""``python -m shieldwall`` runs the CLI."""

from shieldwall.adapters.cli.app import main

if __name__ == "__main__":
    main()
