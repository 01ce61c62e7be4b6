"""The project's labelled data, taxonomy, tips and dictionaries, shipped as ``triage.data``.

``pyproject.toml`` maps this folder into the package, so an installed wheel reads it with
``importlib.resources`` while the checkout keeps ``data/`` at the top.
"""
