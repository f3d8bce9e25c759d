"""Libraries of the analysis tools (``tools/analysis/``): the comparison of
runs and the #params / FLOPs count. Model code never imports this."""
