"""rnnviz: train recurrent networks on images read row by row, and look inside them."""
