"""A thin client for the WeChat mini-program server APIs we use (see shared/FACTS.md)."""
