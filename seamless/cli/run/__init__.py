"""seamless-run: a bash command as a cached transformation."""
