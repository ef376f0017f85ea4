"""``python -m users_service``: run the users example."""

import sys

from users_service.service import main

sys.exit(main())
