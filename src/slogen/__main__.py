"""Allow ``python -m slogen``."""

from slogen.cli.main import main

if __name__ == "__main__":
    main()
