"""xctest.transport"""
