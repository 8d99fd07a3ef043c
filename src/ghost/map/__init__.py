"""Map: the cheap model reads every chunk and keeps what is worth keeping, as cited notes."""
