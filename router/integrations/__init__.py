"""Adapters that let other systems call the router with their own objects (optional extras)."""
