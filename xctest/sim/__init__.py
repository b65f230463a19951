"""xctest.sim"""
