# For scrapyd-deploy, which builds the egg with `setup.py bdist_egg` (and would write a setup.py of its
# own otherwise); everything else is in pyproject.toml.
from setuptools import setup

setup()
