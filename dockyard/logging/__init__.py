"""Container logs: the log driver seam (driver.py), the built-in list (drivers.py), json-file."""
