"""Yishi 议事: an open platform for grassroots whole-process people's democracy."""

__version__ = "0.1.0"
