"""The lbtoolkit benchmark suite: ``python bench/run.py`` (or ``make bench``)."""
