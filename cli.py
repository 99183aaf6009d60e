"""egan-tf command line: `python cli.py --help` (or the `egan-tf` console script).

The commands live in `egan_tf.commands`; this file is the documented entry.
"""

from egan_tf.commands import main

if __name__ == "__main__":
    main()
