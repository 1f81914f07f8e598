"""People, roles and sign-in (office passwords, WeChat mini program, bearer tokens)."""
