"""kubelite.agent"""
