"""kubelite.api"""
