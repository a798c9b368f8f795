#!/usr/bin/env python
"""Same as the ``yishi`` command, for those used to ``manage.py``."""

from yishi.cli import main

if __name__ == "__main__":
    main()
