"""The FastAPI application: routers per resource, auth and roles, error rendering."""
