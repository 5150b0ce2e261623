"""An anonymous, multilingual help line for people at risk of trafficking and exploitation."""
