"""A Sphinx extension of the book: napoleon reads the docstrings of functions and classes, not of data.

napoleon takes the text before the first colon of a data or attribute doc-comment for its type, so that
``#: HIRL's blur kernels as sigmas: sigma = k / 5`` would render as "Type: HIRL's blur kernels as sigmas". The
constants of ``restorelib`` are documented in plain sentences, so their doc-comments are shown as written.
"""
_written: dict[str, list[str]] = {}


def _keep(app, what, name, obj, options, lines):
    if what in ("data", "attribute"):
        _written[name] = list(lines)


def _restore(app, what, name, obj, options, lines):
    if what in ("data", "attribute") and name in _written:
        lines[:] = _written.pop(name)


def setup(app):
    app.connect("autodoc-process-docstring", _keep, priority=100)       # before napoleon (500)
    app.connect("autodoc-process-docstring", _restore, priority=900)    # after it
    return {"parallel_read_safe": True, "parallel_write_safe": True}
