"""Scaling out: imgproxy Pro's internal cache (a store every node shares), Redis as a hot
tier and cluster-wide single flight, and several server processes per host."""
