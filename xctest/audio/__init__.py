"""xctest.audio"""
