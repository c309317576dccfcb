"""The read-only web database: a FastAPI app over a profile (`polyinf serve`)."""
