"""`python -m agent.cli ...`: the same as the `lifeline` command."""
import sys

from agent.cli import main

sys.exit(main())
