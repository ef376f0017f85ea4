"""``python -m greeter_demo``: run the demo service."""

import sys

from greeter_demo.service import main

sys.exit(main())
