"""kubelite.apiserver"""
