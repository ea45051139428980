"""Scaffolding shared by the fanfill command's Python tests (cli_numpy_test.py,
cli_errors_test.py): a check that records failures without stopping, and the
runner that gives each script its scratch directory and exit status."""
import os
import shutil

FAILURES = []


def check(condition, what):
    if not condition:
        FAILURES.append(what)
        print("FAIL:", what)


def run_tests(work, tests, final_check=None):
    """Runs `tests` in a fresh `work` directory, then `final_check` if given;
    returns the exit status (1 if any check failed; `work` is kept then)."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for test in tests:
        print("---", test.__name__, flush=True)
        test()
    if final_check is not None:
        final_check()
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("all checks passed")
    return 0
