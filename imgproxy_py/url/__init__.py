"""imgproxy URLs, both ways.

* :mod:`~imgproxy_py.url.tokenizer`: what the server reads a request path with (signature,
  ``name:args`` tokens, source URL); it knows the grammar, not what options mean.
* :mod:`~imgproxy_py.url.builder` (with :mod:`~.options`, :mod:`~.info`, :mod:`~.gravity`,
  :mod:`~.chain`, :mod:`~.arguments`): the Python API that writes and signs URLs, re-exported
  as :mod:`imgproxy_py.urls`.  It imports nothing of the server: no image library needed.
* :mod:`~imgproxy_py.url.cli`: ``imgproxy-py url`` and ``imgproxy-py sign``.

What options exist and what their arguments mean is declared in :mod:`imgproxy_py.options`.
"""
