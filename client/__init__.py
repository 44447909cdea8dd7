"""flakegate's client library and command line. Depends on ``requests`` only."""
