# ResNet Lab. Two commands do everything on a fresh machine (Python 3.10+ and make needed):
#   make lab    set up (virtual environment, data) and open the notebooks in JupyterLab
#   make test   set up the same way and run the whole test suite (unit tests + nbval)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   := data/FashionMNIST/raw/t10k-labels-idx1-ubyte

.PHONY: lab test setup data figures benchmark clean

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

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks

test: setup
	$(BIN)/python -m pytest

figures: setup
	$(BIN)/python figures/make_figures.py

clean:
	rm -rf $(VENV) data
