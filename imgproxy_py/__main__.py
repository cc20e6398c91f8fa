import sys

from imgproxy_py.cli import main

sys.exit(main())
