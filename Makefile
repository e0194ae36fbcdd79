# ResNet Lab. Two commands do everything on a fresh machine (Python 3.10+ and make needed):
#   make lab    set up (virtual environment, data) and open the notebooks in JupyterLab
#   make test   set up the same way and run the whole test suite: widget tests under ipywidgets 7, nbgrader,
#               the slides, the website, nbval under another CPU's settings beside Colab's versions, then the unit,
#               browser and classroom tests with nbval under this machine's own settings (= make check)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   := data/FashionMNIST/raw/t10k-labels-idx1-ubyte

.PHONY: checkpoints lab test check test-ipywidgets7 test-elsewhere test-portability test-colab test-nbgrader test-slides test-book student slides book claims setup data figures benchmark clean

setup: $(STAMP) $(DATA)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	# d2l 1.0.3 pins numpy 1.23.5 & co.; what it really imports is in requirements.txt.
	$(BIN)/python -m pip install --quiet --no-deps d2l==1.0.3
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -c "import helpers, torchvision; from d2l import torch as d2l; print('environment ready:', helpers.__version__)"
	touch $(STAMP)

# Stage Fashion-MNIST from FASHION_MNIST_DIR, /usr/share/datasets/fashion-mnist or a download.
$(DATA): $(STAMP)
	$(BIN)/python -c "from helpers.data import prepare_fashion_mnist as p; print('Fashion-MNIST staged under', p())"

# The repository's root, so that notebooks/ and student/ (and the links between them) are both reachable.
lab: setup
	$(BIN)/jupyter lab --notebook-dir=.

test: setup test-ipywidgets7 test-nbgrader slides test-slides test-book test-elsewhere
	@echo "== phase: unit, browser and classroom tests, nbval with this machine's settings"
	$(BIN)/python -m pytest

# The daily loop: the unit tests, the browser tests and one nbval pass over every notebook with this
# machine's own settings (what `make test` ends with, without another CPU's settings, Colab's
# versions, ipywidgets 7, nbgrader and the slides).
check: setup
	$(BIN)/python -m pytest

# What nbval compares must be the same on every machine, and every claim must hold on every machine
# (README, "What nbval compares"). Two more runs of every notebook play other computers: one with
# this project's versions under other CPU kernels, one thread and another training seed (outputs
# compared, claims asserted), one with Colab's versions under a third setting (claims asserted).
# Each uses one thread, so the two run side by side on two cores without waiting on each other;
# their lines are prefixed, and a failure names its run and setting.
# NOTEBOOKS narrows them, e.g. `make test-elsewhere NOTEBOOKS=notebooks/03_shape_tracing.ipynb`.
NOTEBOOKS ?= notebooks
OTHER_CPU := ATEN_CPU_CAPABILITY=avx2 OMP_NUM_THREADS=1 RESNET_LAB_SEED=1
COLAB_CPU := ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 RESNET_LAB_SEED=2

test-elsewhere: setup $(DATA)
	@echo "== phase: nbval as other computers: another CPU's settings beside Colab's versions"
	@mkdir -p build
	@rm -f build/other-cpu.status build/colab.status
	@( $(MAKE) --no-print-directory test-portability 2>&1; echo $$? > build/other-cpu.status ) \
	   | sed -u 's/^/[other CPU] /' & \
	 ( $(MAKE) --no-print-directory test-colab 2>&1; echo $$? > build/colab.status ) | sed -u 's/^/[Colab] /'; \
	 wait; \
	 other=$$(cat build/other-cpu.status); colab=$$(cat build/colab.status); \
	 echo "== exit status: $$other under another CPU's settings, $$colab under Colab's versions (0 = passed)"; \
	 [ "$$other" = 0 ] && [ "$$colab" = 0 ]

test-portability: setup
	@echo "== nbval under $(OTHER_CPU), started $$(date +%T)"
	env $(OTHER_CPU) $(BIN)/python -m pytest $(NOTEBOOKS) tests/test_checkpoints.py -k "ipynb or shipped" -q \
	  || { echo "== nbval FAILED under $(OTHER_CPU)"; exit 1; }
	@echo "== nbval passed under $(OTHER_CPU), finished $$(date +%T)"

# Colab's own versions (colab-versions.txt): a second environment with Colab's Python, torch,
# torchvision, numpy, matplotlib, ipywidgets 7.7.1 and IPython 7.34, set up the way the notebooks'
# set-up cell does it on Colab (d2l without its pins, helpers from the repository on sys.path). It
# runs every notebook with nbval in lax mode (every cell must run and every claim hold; outputs are
# not compared, Colab's versions print differently) and the widget tests.
COLAB_VERSIONS := colab-versions.txt
COLAB_VENV     := .venv-colab
COLAB_PY       := $(shell sed -n 's/^\# python //p' $(COLAB_VERSIONS))
# The first Python $(COLAB_PY) that really runs (a pyenv shim may exist and refuse): pyenv's, then PATH's.
COLAB_PYTHON   ?= $(shell for p in $(HOME)/.pyenv/versions/$(COLAB_PY)*/bin/python$(COLAB_PY) $$(command -v python$(COLAB_PY)); do \
                    $$p -c 'import sys; assert "%d.%d" % sys.version_info[:2] == "$(COLAB_PY)"' 2>/dev/null && echo $$p && break; done)
# Not on Colab's list but needed to run the notebooks and the tests here: left to pip, under the pins.
COLAB_EXTRAS   := pandas scipy tqdm requests Pillow "ipykernel<7" matplotlib-inline nbval pytest safetensors

$(COLAB_VENV)/.installed: $(COLAB_VERSIONS)
	@echo "== Colab's environment (build), started $$(date +%T)"
	@test -n "$(COLAB_PYTHON)" || { echo "make test-colab needs Python $(COLAB_PY) (Colab's); none found on PATH or under ~/.pyenv"; exit 1; }
	rm -rf $(COLAB_VENV)
	$(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COLAB_VENV)/bin/python -m pip install --quiet -r $(COLAB_VERSIONS) $(COLAB_EXTRAS)
	$(COLAB_VENV)/bin/python -m pip install --quiet --no-deps d2l==1.0.3
	touch $@

test-colab: $(COLAB_VENV)/.installed $(DATA)
	@echo "== Colab's versions under $(COLAB_CPU) (nbval lax, widget tests), started $$(date +%T)"
	$(COLAB_VENV)/bin/python tools/colab_versions.py $(COLAB_VERSIONS)
	env $(COLAB_CPU) $(COLAB_VENV)/bin/python -m pytest -p no:cacheprovider -o addopts="" -q --nbval-lax \
	  --nbval-current-env --nbval-cell-timeout=600 -W "ignore::DeprecationWarning" $(NOTEBOOKS) tests/test_widgets.py \
	  tests/test_checkpoints.py \
	  || { echo "== Colab's versions FAILED under $(COLAB_CPU)"; exit 1; }
	@echo "== Colab's versions passed under $(COLAB_CPU), finished $$(date +%T)"

# The margins of every claim over CPU kernels x threads x seeds (slow: see tools/claim_matrix.py).
claims: setup
	$(BIN)/python tools/claim_matrix.py

# Colab ships ipywidgets 7.7.1 and its widget manager does not support ipywidgets 8, so the widget
# tests also run against 7.7.1: installed into a folder of its own (the .venv keeps ipywidgets 8)
# that goes first on PYTHONPATH. The version is asserted in the same process that runs the tests.
# (ipywidgets 7 opens its comms with ipykernel's Comm class, which ipykernel 7 deprecates: that
# warning is expected here and filtered.)
PACKAGES_ipywidgets7 := ipywidgets==7.7.1 ipython_genutils==0.2.0
IPYWIDGETS7_DIR      := $(VENV)/ipywidgets7
IPYWIDGETS7_STAMP    := $(IPYWIDGETS7_DIR)/.installed

# Every tools-only folder (ipywidgets 7 here, nbgrader and the slides' assets below) is made the same
# way: the packages in PACKAGES_<folder>, without their dependencies, into .venv/<folder>.
$(VENV)/%/.installed: $(STAMP) Makefile
	rm -rf $(VENV)/$*
	$(BIN)/python -m pip install --quiet --no-deps --target $(VENV)/$* $(PACKAGES_$*)
	touch $@

test-ipywidgets7: setup $(IPYWIDGETS7_STAMP)
	@echo "== phase: widget tests under ipywidgets 7.7.1"
	PYTHONPATH=$(IPYWIDGETS7_DIR) $(BIN)/python -c "import sys, ipywidgets, pytest; \
	  assert ipywidgets.__version__ == '7.7.1', ipywidgets.__version__; \
	  print('widget tests against ipywidgets', ipywidgets.__version__, 'from', ipywidgets.__file__); \
	  sys.exit(pytest.main(['-q', '-W', 'ignore::DeprecationWarning:ipywidgets.widgets.widget', *sys.argv[1:]]))" $(wildcard tests/test_widgets*.py)

# Student notebooks (student/, committed): each exercise's solution replaced by a stub, its checks in a
# cell of their own (tools/classroom.py). tests/test_classroom.py fails when they are out of date, so
# `test` does not regenerate them: run `make student` after changing a notebook.
student: setup
	$(BIN)/python tools/classroom.py student

# nbgrader is the teacher's tool: installed in a folder of its own, first on PYTHONPATH (as ipywidgets 7
# above), so .venv's JupyterLab does not load its extensions. These versions change no pin in
# constraints.txt. The test runs nbgrader's generate_assignment and autograde on notebook 03.
PACKAGES_nbgrader := nbgrader==0.9.6 notebook==7.6.5 SQLAlchemy==2.1.9 alembic==1.20.1 RapidFuzz==3.14.6 Mako==1.4.3
NBGRADER_DIR      := $(VENV)/nbgrader
NBGRADER_STAMP    := $(NBGRADER_DIR)/.installed

test-nbgrader: setup $(NBGRADER_STAMP)
	@echo "== phase: nbgrader round trip"
	PYTHONPATH=$(NBGRADER_DIR) $(BIN)/python -c "import nbgrader; print('nbgrader', nbgrader.__version__)"
	PYTHONPATH=$(NBGRADER_DIR) $(BIN)/python -m pytest -q -p no:cacheprovider -o addopts="" tests/test_classroom.py -k nbgrader

# Slides (tools/slides.py): a reveal.js deck of every notebook in build/slides/, which opens with no
# network. reveal.js and MathJax are copied from two packages that ship them, installed without their
# dependencies in a folder of their own that goes first on PYTHONPATH (as nbgrader above): neither is
# imported, so sphinx-revealjs needs no Sphinx. These versions change no pin in constraints.txt.
PACKAGES_slides := sphinx-revealjs==3.2.1 jupyter-server-mathjax==0.2.6
SLIDES_DIR      := $(VENV)/slides
SLIDES_STAMP    := $(SLIDES_DIR)/.installed

slides: setup $(SLIDES_STAMP)
	@echo "== phase: slides"
	PYTHONPATH=$(SLIDES_DIR) $(BIN)/python tools/slides.py

# Notebook 03's deck in headless Chromium with the network shut: title, formula, figure, no console error;
# every deck's slides measured at 1280 x 720: one taller than the screen fails unless marked scrolling.
test-slides: setup $(SLIDES_STAMP)
	@echo "== phase: slide tests"
	PYTHONPATH=$(SLIDES_DIR) $(BIN)/python -m pytest -q -p no:cacheprovider -o addopts="" tests/test_slides.py

# The trained networks that notebooks 05 and 06 analyse (checkpoints/, tools/train_checkpoints.py):
# `make checkpoints` trains those missing, `make checkpoints NAME="resnet56 plain56"` trains these again.
checkpoints: setup
	$(BIN)/python tools/train_checkpoints.py $(NAME)

# The website (tools/book.py): the notebooks as stored (never re-run), the landing page and the
# teacher's guide, built with Sphinx, myst-nb and sphinx-book-theme into build/book/, which opens with no
# network (MathJax copied in from jupyter-server-mathjax, as for the slides). Installed without their
# dependencies (every one named and pinned here) into a folder of their own that goes first on
# PYTHONPATH, as the slides' tools are; these versions change no pin in constraints.txt. Python 3.11+.
# check-jsonschema (with its own copy of the schema of GitHub's workflow files) lints the workflow
# that publishes the site (.github/workflows/).
PACKAGES_book := sphinx==9.0.4 alabaster==1.0.0 docutils==0.22.4 imagesize==2.0.1 roman-numerals==4.1.0 \
                 snowballstemmer==3.1.1 sphinxcontrib-applehelp==2.0.0 sphinxcontrib-devhelp==2.0.0 \
                 sphinxcontrib-htmlhelp==2.1.0 sphinxcontrib-jsmath==2.0.0 sphinxcontrib-qthelp==2.0.0 \
                 sphinxcontrib-serializinghtml==2.0.0 myst-parser==5.2.0 markdown-it-py==4.3.0 \
                 mdit-py-plugins==0.7.0 mdurl==0.1.2 myst-nb==1.4.0 jupyter-cache==1.0.1 SQLAlchemy==2.1.9 \
                 click==8.5.1 tabulate==0.10.0 importlib-metadata==10.2.0 zipp==4.1.2 lazy-importer==0.1.0 \
                 sphinx-book-theme==1.4.0 pydata-sphinx-theme==0.20.0 accessible-pygments==0.0.5 \
                 jupyter-server-mathjax==0.2.6 check-jsonschema==0.39.0 ruamel.yaml==0.19.1 regress==2026.9.1
BOOK_DIR        := $(VENV)/book
BOOK_STAMP      := $(BOOK_DIR)/.installed

book: setup $(BOOK_STAMP)
	@echo "== phase: book"
	PYTHONPATH=$(BOOK_DIR) $(BIN)/python tools/book.py

# The site built afresh into a temporary folder and read in headless Chromium with the network shut
# (every page, console, formulas, figures, search, launch buttons, a phone's width), every internal link
# and anchor checked, the workflow linted (tests/test_book.py, tests/test_workflow.py).
test-book: setup $(BOOK_STAMP)
	@echo "== phase: book tests"
	PYTHONPATH=$(BOOK_DIR) $(BIN)/python -m pytest -q -p no:cacheprovider -o addopts="" tests/test_book.py tests/test_workflow.py

figures: setup
	$(BIN)/python figures/make_figures.py

clean:
	rm -rf $(VENV) $(COLAB_VENV) data
