"""The model itself: the verified artifact, its compiled scorer and batch kernel, and the reasons behind a score."""
