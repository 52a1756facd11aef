"""kubelite.controllers"""
