import sys

from mimic_loader.load import main

sys.exit(main())
