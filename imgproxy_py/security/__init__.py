"""URL signatures, source-URL encryption and source address checks."""
