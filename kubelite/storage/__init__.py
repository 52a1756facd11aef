"""kubelite.storage"""
