# 「PyTorchで学ぶニューラルネットワーク入門」 — build, test and grading entry points.
# Every target sets up .venv first (Python 3.11, requirements.txt, and both of this
# repository's packages editable: dlcourse, the teaching helpers, and grader/, dlgrader).

PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
# nbgrader runs alembic through PATH, so the venv's bin goes first.
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0

CHAPTERS := $(notdir $(wildcard solutions/[0-9]*))
NOTEBOOKS := $(wildcard book/*.ipynb) $(wildcard solutions/*/*.ipynb)

.PHONY: help venv assets book live test exercises outputs lint format bench bench-grade clean

help:
	@echo "make book       HTML の本を _build/html に生成 (.venv も準備)"
	@echo "make live       本を http://127.0.0.1:8000/ で公開し、Live Code 用の Jupyter を起動"
	@echo "make assets     本が使う JavaScript (MathJax, ウィジェット, Thebe) を _vendor/ に用意"
	@echo "make test       全テスト (ruff, dlcourse, nbval, 同期, nbgrader, リーク, 本のビルド)"
	@echo "make exercises  solutions/ から exercises/ (学生版) を再生成"
	@echo "make outputs    book/ と solutions/ のノートブックを実行して出力を保存"
	@echo "make bench      ノートブックの実行時間と本のビルド時間を計測"

$(STAMP): requirements.txt pyproject.toml grader/pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . -e grader
	touch $(STAMP)

venv: $(STAMP)

# The book serves MathJax, require.js, the widget manager and Thebe itself (no CDN):
# tools/assets.py fetches the pinned releases with npm into _vendor/.
ASSETS := _vendor/VERSIONS.json

$(ASSETS): tools/assets.py | $(STAMP)
	$(BIN)/python tools/assets.py
	touch $(ASSETS)

assets: $(ASSETS)

book: $(STAMP) $(ASSETS)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "本を生成しました: $(abspath _build/html/index.html)"

# Serve the book with live code: a local Jupyter server for Thebe (tools/live.py).
live: book
	$(BIN)/python tools/live.py

test: $(STAMP) $(ASSETS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check dlcourse grader tests tools
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n 2 --dist loadfile \
		tests book solutions --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 300

exercises: $(STAMP)
	for chapter in $(CHAPTERS); do \
		$(BIN)/nbgrader generate_assignment $$chapter --force --log-level=WARN || exit 1; \
	done

outputs: $(STAMP)
	$(BIN)/python tools/notebooks.py execute $(NOTEBOOKS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check dlcourse grader tests tools
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format dlcourse grader tests tools

bench: $(STAMP)
	$(BIN)/python tools/bench.py

# Class-scale grading: nbgrader autograde vs dlgrader grade --workers 1 / 2 (tools/bench_grade.py).
bench-grade: $(STAMP)
	$(BIN)/python tools/bench_grade.py

clean:
	rm -rf _build
