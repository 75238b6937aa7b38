"""Runs CPython regression-test modules and prints each test's outcome as JSON.

Usage: python3.11 conformance.py MARK NAME [NAME...]
(or the script on stdin: python3.11 - MARK NAME...). A NAME is a module of
the test package (test_os) or a part of one (test_os.TestClass, or one test:
test_os.TestClass.test_x); results are filed under the module. The result is printed
on stdout after the line MARK, as JSON {"results": {module: {test id:
outcome}}, "details": {test id: traceback}}.

Works like `python -m test` (regrtest) in the ways the file tests notice: it
runs in a fresh temporary directory whose name ends in a non-ASCII character
(regrtest's test_python_worker_<pid>æ), so TESTFN lands there. Outcomes per
test id: ok, fail, error, skip, xfail, xpass. A subtest failure marks its
test "fail"; a module that cannot be imported gets the id "<module>" = error.
"""
import json
import shutil
import os
import sys
import tempfile
import unittest


class Recorder(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.outcomes = {}

    def _set(self, test, outcome):
        tid = test.id()
        prev = self.outcomes.get(tid)
        # A failing subtest wins over the test's own final "ok".
        if prev in ("fail", "error") and outcome == "ok":
            return
        self.outcomes[tid] = outcome

    def addSuccess(self, test):
        self._set(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._set(test, "fail")

    def addError(self, test, err):
        super().addError(test, err)
        # setUpModule/setUpClass errors come as an _ErrorHolder.
        self._set(test, "error")

    def addSkip(self, test, reason):
        self._set(test, "skip")

    def addExpectedFailure(self, test, err):
        self._set(test, "xfail")

    def addUnexpectedSuccess(self, test):
        self._set(test, "xpass")

    def addSubTest(self, test, subtest, err):
        if err is not None:
            if issubclass(err[0], test.failureException):
                self.addFailure(test, err)
            else:
                self.addError(test, err)


def main():
    mark, modules = sys.argv[1], sys.argv[2:]
    from test import support

    support.verbose = 0
    # As regrtest: tests that need a network or a GUI or large resources stay off.
    support.use_resources = []
    results = {}
    details = {}
    top = tempfile.mkdtemp(prefix="tvisor-conformance-")
    for name in modules:
        module = name.split(".")[0]
        work = os.path.join(top, f"test_python_worker_{os.getpid()}\u00e6")
        os.mkdir(work)
        os.chdir(work)
        rec = Recorder()
        try:
            suite = unittest.defaultTestLoader.loadTestsFromName(f"test.{name}")
            suite.run(rec)
        except Exception as e:  # import error of the module itself
            rec.outcomes[f"test.{name}"] = "error"
            details[f"test.{name}"] = repr(e)
        for t, tb in rec.failures + rec.errors:
            details[t.id()] = tb[-2000:]
        results.setdefault(module, {}).update(rec.outcomes)
        os.chdir(top)
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(top, ignore_errors=True)
    sys.stdout.flush()
    print(mark)
    print(json.dumps({"results": results, "details": details}, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
