"""``python -m gcp`` runs the same command as ``gcp``."""

from .cli import main

if __name__ == "__main__":
    main()
