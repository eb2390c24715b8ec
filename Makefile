# Set-up and checks. Everything installs itself into virtualenvs in this
# folder, so `make demo` and `make test` work on a fresh clone with Python 3
# (3.10 or newer), a C compiler and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SOURCES := pyproject.toml setup.py $(wildcard csrc/*.c csrc/*.h csrc/python/*.c)

.PHONY: install demo test test-c test-python test-fallback test-pure test-reference \
        bench-smoke load-test report compare-servers clean

$(VENV)/.installed: $(SOURCES)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	SEAMLESS_REQUIRE_NATIVE=1 $(PY) -m pip install --quiet -e '.[test]'
	touch $@

## install: the package (with its C core) and the test tools, in .venv
install: $(VENV)/.installed

## demo: install, then run the tour of the checksum layer (no servers needed)
demo: install
	$(PY) examples/tour.py

## test: every check CI runs
test: test-c test-python test-fallback test-pure test-reference bench-smoke

## test-c: the C core alone: strict warnings, ASan + UBSan, portable-only build
test-c:
	$(MAKE) -C csrc/tests all-checks

## test-python: the test suite with the native backend (required to be built)
test-python: install
	SEAMLESS_REQUIRE_NATIVE=1 $(PY) -m pytest -q

## test-fallback: the test suite with the pure-Python backend selected
test-fallback: install
	SEAMLESS_NATIVE=fallback $(PY) -m pytest -q

## test-pure: the package built without its C extension at all
test-pure:
	$(PYTHON) -m venv .venv-pure
	.venv-pure/bin/python -m pip install --quiet --upgrade pip
	SEAMLESS_NO_NATIVE=1 .venv-pure/bin/python -m pip install --quiet '.[test]'
	.venv-pure/bin/pytest -q -p no:cacheprovider

## test-reference: compare with the reference implementation, installed in
## its own virtualenv (never in ours)
test-reference: install
	$(PYTHON) -m venv .venv-reference
	.venv-reference/bin/python -m pip install --quiet 'seamless-core==0.1.4' 'seamless-database==2.1.0' 'hashserver==1.1.0' 'seamless-remote==0.4.0' 'seamless-transformer==0.6.1' aiofiles
	SEAMLESS_REFERENCE_PYTHON=$(CURDIR)/.venv-reference/bin/python \
		$(PY) -m pytest -q -m reference

## load-test: both servers under mixed load from 8 clients for LOAD_SECONDS
## each (default 180; the test suite runs them for 20)
LOAD_SECONDS ?= 180
load-test: install
	SEAMLESS_LOAD_SECONDS=$(LOAD_SECONDS) SEAMLESS_REQUIRE_NATIVE=1 $(PY) -m pytest -q -p no:cacheprovider \
		tests/hashserver/test_robustness.py tests/database/test_robustness.py -k test_load

## bench-smoke: run every benchmark once (no timing)
bench-smoke: install
	$(PY) -m pytest benchmarks -q -p no:cacheprovider --benchmark-disable

## report: the performance figures as ratios (several minutes, needs ~2 GiB disk)
report: install
	$(PY) benchmarks/report.py

## compare-servers: our servers, seamless-init and seamless-run against the reference's,
## side by side (installs the reference into .venv-reference; ~12 minutes,
## ~3 GiB disk)
compare-servers: install
	$(PY) benchmarks/compare_servers.py --install-reference .venv-reference
	$(PY) benchmarks/compare_init.py --install-reference .venv-reference
	$(PY) benchmarks/compare_run.py --install-reference .venv-reference

clean:
	rm -rf $(VENV) .venv-pure .venv-reference build *.egg-info csrc/tests/build
	find seamless -name '*.so' -delete
