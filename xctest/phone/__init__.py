"""xctest.phone"""
