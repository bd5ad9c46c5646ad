"""Reports: the figures a support lead reviews every week, computed in SQL."""
