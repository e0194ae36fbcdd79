"""Sphinx configuration of the website (`make book`, tools/book.py). tools/book.py copies this file into
build/book-src/ beside the reshaped notebooks, and sets the repository's address (launch buttons,
repository link) from pyproject.toml with `-D html_theme_options.repository_url=...`."""

project = "ResNet Lab"
author = "the ResNet Lab authors"
copyright = "ResNet Lab authors, MIT licence"
extensions = ["myst_nb"]
exclude_patterns = [".doctrees"]

# The notebooks as stored: never executed here; no widget manager (it would come from a CDN, and the
# widgets need a kernel: tools/book.py puts a note where each one would be drawn).
nb_execution_mode = "off"
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# MathJax 2.7 from the site itself (tools/book.py copies it into _static/mathjax). MyST marks each page
# as not to be typeset and its formulas as to be (their class "math"): MathJax 2 is told so here (MyST
# tells only MathJax 3 and 4). Its package has MathJax's STIX web fonts only: ask for no other font
# file (as tools/slides.py does; MathJax's blank test font, `url('about:blank')`, is refused by
# Chromium with a console error).
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
NO_FILE = {"src": "local('none')"}
mathjax2_config = {
    "tex2jax": {"processClass": "tex2jax_process|mathjax_process|math|output_area"},
    "HTML-CSS": {"webFont": "STIX-Web", "availableFonts": [], "preferredFont": None, "imageFont": None,
                 "linebreaks": {"automatic": True},   # a long display formula breaks to fit a phone
                 "styles": {"@font-face": NO_FILE}},
    "NativeMML": {"styles": {f"@font-face /*{i}*/": NO_FILE for i in range(1, 7)}},
}

html_theme = "sphinx_book_theme"
html_title = "ResNet Lab"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_last_updated_fmt = None
html_show_sourcelink = False
html_context = {"default_mode": "light"}   # the figures are drawn on white (a reader can switch)
html_theme_options = {
    "repository_url": "",   # pyproject.toml's, set by tools/book.py
    "repository_branch": "main",
    "path_to_docs": "",   # the site's pages sit where they do in the repository (notebooks/NN_name.ipynb)
    "use_repository_button": True,
    "use_download_button": True,
    "navbar_persistent": [],   # the search field sits in the sidebar (and the header's buttons on a phone)
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "launch_buttons": {
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
        "notebook_interface": "jupyterlab",
    },
}
