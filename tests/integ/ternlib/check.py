"""A tiny test runner: functions named test_* in the calling module run in order;
failures are reported and the process exits non-zero. Prints `N passed, N failed`."""
import sys
import time
import traceback


def wait_until(what, probe, ok=bool, timeout=30, interval=0.1, describe=repr):
    """Calls probe() until ok(value) holds and returns that value; after timeout seconds
    fails with what and describe(last value)."""
    deadline = time.monotonic() + timeout
    while True:
        v = probe()
        if ok(v):
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}: {describe(v)}")
        time.sleep(interval)


def run(module_globals):
    tests = [(n, f) for n, f in module_globals.items() if n.startswith("test_") and callable(f)]
    only = sys.argv[1:]
    passed = failed = 0
    for name, fn in tests:
        if only and name not in only:
            continue
        try:
            fn()
            print(f"ok   {name}", flush=True)
            passed += 1
        except Exception:
            print(f"FAIL {name}", flush=True)
            traceback.print_exc()
            failed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
