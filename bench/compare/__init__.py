"""`python -m bench compare`: this gateway and Hive Gateway side by side, over the same captured upstream bytes.

Not a test: nothing asserts a figure. The tables go into bench/README.md, the plot into bench/compare.png.
"""
