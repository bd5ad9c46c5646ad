"""Personal-data requests: everything held about one customer, exported or erased."""
