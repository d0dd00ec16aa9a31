import sys

from cdcviewer.cli import main

sys.exit(main())
