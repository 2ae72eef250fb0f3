"""The model family: the cell registry, the recurrent classifiers built from it, and the orders
they read an image in."""
