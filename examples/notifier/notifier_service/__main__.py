"""``python -m notifier_service``: run the notifier example."""

import sys

from notifier_service.service import main

sys.exit(main())
