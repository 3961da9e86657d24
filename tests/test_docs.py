"""The runnable examples in sarle's docstrings are tests too."""

import doctest
import importlib

import pytest

MODULES = ["sarle", "sarle.codec", "sarle.coco", "sarle.sa1b", "sarle.render"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
