"""The organisation inspected: regions, sectors, lead units and window units."""
