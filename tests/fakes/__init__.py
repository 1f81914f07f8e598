"""Local stand-ins for services outside our walls, spoken to over real HTTP."""
