"""Runs PyTorch's own test/nn/test_init.py with torch.nn.init swapped for fanfill.torch.nn_init.

The test file is PyTorch's (not part of this repository): pass its path.

    pip install expecttest scipy          # what torch's test utilities import
    PYTORCH_TEST_WITH_SLOW=1 python scripts/torch_test_init_with_fanfill.py \\
        /path/to/pytorch/test/nn/test_init.py [-v] [unittest args...]

The module is put in sys.modules["torch.nn.init"] and as the attribute torch.nn.init
(``import torch.nn.init as init`` reads the attribute first) before the test file is
imported; the script checks that the test file's ``init`` is fanfill's.
"""

import runpy
import sys

import fanfill.torch.nn_init as ff
import torch


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.modules["torch.nn.init"] = ff
    torch.nn.init = ff
    path = sys.argv[1]
    sys.argv = [path, *sys.argv[2:]]
    ns = runpy.run_path(path, run_name="torch_test_init")
    if ns.get("init") is not ff:
        sys.exit("the test file did not import fanfill.torch.nn_init as `init`")
    from torch.testing._internal.common_utils import run_tests

    sys.modules["__main__"].__dict__.update(ns)
    run_tests()


if __name__ == "__main__":
    main()
