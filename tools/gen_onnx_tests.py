#!/usr/bin/python3
"""Writes the ONNX backend node test cases (model.onnx + test_data_set_*/{input,output}_*.pb)
under OUTDIR/node/<case>/ using Debian's python3-onnx 1.12.

Usage: /usr/bin/python3 tools/gen_onnx_tests.py OUTDIR [OP_TYPE]
"""
import sys

import numpy as np

# onnx 1.12's test-case code still names numpy aliases that numpy 1.24 removed.
np.float, np.int, np.bool, np.object = float, int, bool, object

from onnx.backend.test import cmd_tools  # noqa: E402  (must follow the aliases above)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    argv = ["gen_onnx_tests", "generate-data", "-o", sys.argv[1]]
    if len(sys.argv) == 3:
        argv += ["-t", sys.argv[2]]
    sys.argv = argv
    cmd_tools.main()


if __name__ == "__main__":
    main()
