"""Looking at a model: its predictions and scores, every time step recomputed, what the rows do,
and words that explain them."""
