"""Reports: the arithmetic of each report over a read view; `registry` names them all."""
