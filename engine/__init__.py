"""Loomwork platform core: definitions, versions, storage, identity, permissions, audit, API, CLI."""
