# newsdesk: `make` sets everything up and publishes; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEPLOY ?= $(BIN)/mkdocs gh-deploy --force
export NO_MKDOCS_2_WARNING := 1

# Debian packages: what the build needs and what tests need. WeasyPrint loads Pango,
# PangoFT2, HarfBuzz, HarfBuzz-Subset (without it, it falls back to fontTools with a
# warning) and Fontconfig, and needs at least one font. GLib comes with Pango (its name
# differs: libglib2.0-0 on Debian 12, libglib2.0-0t64 on 13). These names exist on both.
SYS_PACKAGES  := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
                 libfontconfig1 fontconfig fonts-dejavu-core
# libatomic1: the Node.js that Playwright ships loads it, and a minimal Debian lacks it.
TEST_PACKAGES := chromium poppler-utils dovecot-imapd dovecot-pop3d libatomic1

.PHONY: all setup build send serve publish test lint format clean build-properdocs

all: build
	$(BIN)/newsdesk send
	@echo
	@echo "The site is in site/ (each issue's PDF beside its page). Look at it with"
	@echo "'make serve' (http://127.0.0.1:8000/) or open site/index.html in a browser."
	@echo "Without an SMTP server configured, emails go to the outbox .newsdesk/outbox/."

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(MAKE) --no-print-directory sysdeps PACKAGES="$(SYS_PACKAGES)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# Installs the Debian packages in PACKAGES that are missing (needs root, as on CI).
.PHONY: sysdeps
sysdeps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

build: setup
	$(BIN)/mkdocs build --strict

# ProperDocs, the continuation of MkDocs 1.x, in a virtual environment of its own (MkDocs
# stays in .venv; Material still requires the mkdocs package, so both are installed here
# too, and the properdocs command routes every `mkdocs` import to ProperDocs).
# tests/test_properdocs.py builds the site with it as well.
PD_VENV := .venv-properdocs
$(PD_VENV)/.installed: pyproject.toml
	test -x $(PD_VENV)/bin/python || $(PYTHON) -m venv $(PD_VENV)
	$(PD_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  properdocs mkdocs-material -e .
	touch $@

# Zensical (Material's successor) runs Python-Markdown extensions but no MkDocs plugins:
# tests/test_zensical.py builds a small project with newsdesk.markdown in it.
ZS_VENV := .venv-zensical
$(ZS_VENV)/.installed: pyproject.toml
	test -x $(ZS_VENV)/bin/python || $(PYTHON) -m venv $(ZS_VENV)
	$(ZS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check zensical -e .
	touch $@

build-properdocs: $(PD_VENV)/.installed
	@$(MAKE) --no-print-directory sysdeps PACKAGES="$(SYS_PACKAGES)"
	$(PD_VENV)/bin/properdocs build --strict -f mkdocs.yml

serve: setup
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

# Deliver new issues: over SMTP when NEWSDESK_SMTP_HOST is set, else into the outbox.
send: setup
	$(BIN)/newsdesk send

# Go live first, then mail: read the list's inbox (unsubscribes, bounces) when one is
# configured (email.inbox.url), build, deploy with $(DEPLOY), and send once the pages answer.
publish: setup
	$(BIN)/newsdesk inbox --if-configured
	$(BIN)/mkdocs build --strict
	$(DEPLOY)
	$(BIN)/newsdesk send

test: $(VENV)/.installed-test
	@$(MAKE) --no-print-directory sysdeps PACKAGES="$(TEST_PACKAGES)"
	$(BIN)/ruff check plugins tests
	$(BIN)/ruff format --check plugins tests
	$(BIN)/python -m pytest

# The inner loop: everything but the Dovecot, browser and slow tests, on two workers
# (about a minute on a quiet 2-core machine).
.PHONY: test-quick
test-quick: $(VENV)/.installed-test
	$(BIN)/ruff check plugins tests
	$(BIN)/python -m pytest -q -n 2 -m "not dovecot and not browser and not slow"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check plugins tests
	$(BIN)/ruff format --check plugins tests

format: $(VENV)/.installed-test
	$(BIN)/ruff format plugins tests
	$(BIN)/ruff check --fix plugins tests

clean:
	rm -rf site .pytest_cache

# Benchmarks against baselines (issue 9): ~15 minutes; writes benchmarks/RESULTS.md.
.PHONY: bench
bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.run
