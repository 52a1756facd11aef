"""kubelite.scheduler"""
