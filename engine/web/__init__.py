"""HTTP adapters: thin FastAPI routes over the engines. The engines themselves do no HTTP."""
