"""kubelite.client"""
