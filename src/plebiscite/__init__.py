"""plebiscite: a referendum platform whose result nobody has to take on trust."""

__version__ = "0.1.0"
