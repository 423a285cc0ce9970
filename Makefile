# The README's two commands are `make run` and `make test`; each sets itself up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi.py

.PHONY: install run test test-sqlite test-postgres lint bench messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Compiled catalogs are built here from the committed .po files, never committed.
CATALOGS := $(wildcard chounaikai/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

chounaikai/translations/%/LC_MESSAGES/messages.mo: chounaikai/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -l $* -i $< -o $@

install: $(STAMP) $(COMPILED)

## run: migrate, seed the demo (idempotent), print demo logins, serve on http://127.0.0.1:5000
## (pages and Socket.IO live updates on one port; wsgi.py starts in-process workers)
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@echo "\nOpen http://$(HOST):$(PORT)/ in your browser.\n"
	$(BIN)/python wsgi.py --host $(HOST) --port $(PORT)

## test: the whole suite on SQLite, then on PostgreSQL when CHOUNAIKAI_TEST_POSTGRES_URL is set
test: install
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$CHOUNAIKAI_TEST_POSTGRES_URL" ]; then \
		$(MAKE) --no-print-directory test-postgres; \
	else \
		echo "CHOUNAIKAI_TEST_POSTGRES_URL is not set: PostgreSQL run skipped."; \
	fi

test-sqlite: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: install
	CHOUNAIKAI_TEST_DATABASE_URL="$$CHOUNAIKAI_TEST_POSTGRES_URL" $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

## messages: extract every marked string (Japanese msgids) into chounaikai/translations/messages.pot,
## merge it into every catalog, then list what still needs translating
messages: install
	$(BIN)/python -m chounaikai.catalog_check extract chounaikai/translations/messages.pot
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -d chounaikai/translations \
		-i chounaikai/translations/messages.pot
	-$(BIN)/python -m chounaikai.catalog_check

bench: install
	$(BIN)/python bench/read_path.py
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/furigana.py
	$(BIN)/python bench/portal.py

clean:
	rm -rf $(VENV) instance .pytest_cache
