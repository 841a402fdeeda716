"""Collectors: one module per way of polling a device."""
