# A package, so that pytest puts `tests/` on sys.path for the tests here, never `tests/hooks/`: the
# folders named like frameworks (`tests/hooks/joblib/`) would otherwise import as namespace packages and
# make `pytest.importorskip("joblib")` pass where joblib is not installed.
