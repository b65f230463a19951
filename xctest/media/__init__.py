"""xctest.media"""
