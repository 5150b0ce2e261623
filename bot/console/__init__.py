"""The advocate and supervisor web console."""
