"""``python -m sfcrm_sandbox serve ...``."""

from sfcrm_sandbox.cli import main

if __name__ == "__main__":
    main()
